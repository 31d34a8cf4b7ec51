// The explorer's sliders, one per latent dimension shown (up to 16), drawn here in the browser
// beside the latent map. Moving one hands the point to the map, which decodes and paints the digit
// at once (window.__latentLab.maps): no server round trip while a person explores. The map's own
// drags and keys end here too (lab.points), so the sliders always show the map's point.
// Python hears of the point only where it needs it (data.report: a teacher who leads the class, a
// conditional run's style drawn as every class, a walk that starts at the map's point): then once
// per gesture, at its end (a pointer's release, or a run of key presses once it settles). Otherwise
// the point stays here, and the digit's download is made here too: a class's moves cost its server
// nothing.
// Native range inputs: Tab reaches each; the arrows move it a step, Page Up/Down a tenth of the
// range, Home and End to its ends; a screen reader reads its name and its value.

const SETTLE_MS = 400; // a run of key presses is one gesture, told to Python once it settles
const ECHOES = 8; // the points told to Python lately, whose echo in a rerun must not move the sliders back

const DOWNLOAD_SCALE = 10; // the digit's PNG: 28 px -> 280 px, nearest neighbour (as the server's)

const lab = (window.__latentLab = window.__latentLab || { states: {}, maps: {}, stats: {} });
lab.points = lab.points || {};
lab.serverPoints = lab.serverPoints || {}; // run -> the point Python last sent (its identity)

const rounded = (z) => z.map((v) => Math.round(v * 100) / 100);
const identity = (z) => JSON.stringify(rounded(z));
const shownValue = (v) => (v < 0 ? "−" : "") + Math.abs(v).toFixed(2);

function build(root, data) {
  root.querySelector(".latent-point")?.remove();
  const container = document.createElement("div");
  container.className = "latent-point";
  container.setAttribute("role", "group");
  container.innerHTML = data.labels.map((name, index) => `
      <label class="point-row">
        <span class="point-name">${name}</span>
        <output class="point-value" aria-hidden="true"></output>
        <input class="point-slider" type="range" name="z${index}" min="${-data.extent}" max="${data.extent}"
               step="${data.step}" aria-label="${name}">
      </label>`).join("") + `
      <button type="button" class="point-download"></button>`;
  root.appendChild(container);
  const download = container.querySelector("button.point-download");
  return { container, download, inputs: [...container.querySelectorAll("input")],
           outputs: [...container.querySelectorAll("output")] };
}

function createPoint(root, data, setStateValue) {
  const ui = build(root, data);
  const run = data.run;
  const sent = [];
  let held = false; // a pointer is on a slider: its release (a change event) ends the gesture
  let settle = null;
  let lastIncoming = null;

  const values = () => ui.inputs.map((input) => Number(input.value));
  // The map's latent point: the sliders' dimensions, and 0 for those past them.
  const full = (shown) => [...shown, ...new Array(Math.max(0, data.latent_dim - shown.length)).fill(0)];

  function words(text) {
    ui.container.setAttribute("aria-label", text.group);
    ui.download.textContent = text.download;
  }

  function show(z) {
    ui.inputs.forEach((input, index) => {
      input.value = String(z[index] ?? 0);
      const value = Number(input.value); // as the input has it: on its step, within its range
      ui.outputs[index].textContent = shownValue(value);
      input.setAttribute("aria-valuetext", shownValue(value));
    });
  }

  // The point to the map (its digit drawn at the next frame), and kept for a map built later.
  function toMap(z) {
    lab.states[run] = Object.assign({}, lab.states[run], { z });
    lab.maps[run]?.setPoint(z);
  }

  // The end of a gesture: told to Python when it needs the point (data.report), else kept here.
  function report(z = values()) {
    settle = null;
    z = rounded(z.slice(0, ui.inputs.length));
    if (!data.report) return;
    sent.push(identity(z));
    if (sent.length > ECHOES) sent.shift();
    setStateValue("z", z);
  }

  // The digit at the point, as a PNG made here from the map's own decoder (no server on the way).
  ui.download.onclick = () => {
    const map = lab.maps[run];
    if (!map) return;
    const pixels = map.decode(full(values()));
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const image = small.getContext("2d").createImageData(28, 28);
    pixels.forEach((v, i) => {
      image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = Math.round(Math.min(1, Math.max(0, v)) * 255);
      image.data[4 * i + 3] = 255;
    });
    small.getContext("2d").putImageData(image, 0, 0);
    const big = document.createElement("canvas");
    big.width = big.height = 28 * DOWNLOAD_SCALE;
    const context = big.getContext("2d");
    context.imageSmoothingEnabled = false;
    context.drawImage(small, 0, 0, big.width, big.height);
    big.toBlob((blob) => {
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = data.file_name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    }, "image/png");
  };

  for (const input of ui.inputs) {
    let keys = false; // this slider is moved by keys (a change event for each press), not by a pointer
    input.onpointerdown = () => { held = true; keys = false; };
    input.onkeydown = () => { keys = true; };
    input.oninput = () => {
      show(values());
      toMap(full(values()));
      if (keys) { // the gesture ends once the keys settle
        if (settle) clearTimeout(settle);
        settle = setTimeout(report, SETTLE_MS);
      }
    };
    input.onchange = () => {
      if (keys) return;
      held = false; // a pointer's release
      report();
    };
  }

  // What Python sends: the point kept in the session, on the first draw and after any change the
  // server made (a teacher's lead, a run switched). A point this page told Python itself, coming
  // back in the rerun it started, is not applied again: the sliders may have moved on since. A point
  // Python sent before, and sends again because it has not heard of the moves since, is not either.
  function update(next) {
    const before = data;
    data = next;
    words(next.text); // the page may have run again in another language
    const incoming = identity(next.z);
    lab.serverPoints[run] = incoming;
    if (incoming !== lastIncoming) {
      lastIncoming = incoming;
      if (!held && !settle && !sent.includes(incoming)) {
        show(next.z);
        toMap(full(next.z));
        return;
      }
    }
    // Python needs the point from now on (a walk from the map's point, a lead): tell it where it is.
    if (next.report && !before.report && identity(values()) !== incoming) report();
  }

  // A map page opened again in the same browser: the point it had, unless Python moved it since.
  function start(first) {
    words(first.text);
    const kept = lab.states[run] && lab.states[run].z;
    const movedByPython = lab.serverPoints[run] !== identity(first.z);
    lastIncoming = lab.serverPoints[run] = identity(first.z);
    const z = kept && !movedByPython ? kept : full(first.z);
    show(z);
    toMap(z);
    if (first.report && identity(values()) !== lastIncoming) report();
  }

  // The map's drags and keys end here too: the sliders show the point, and it is told to Python once.
  const point = {
    connected: () => ui.container.isConnected,
    follow: (z) => show(z),
    report: (z) => { show(z); report(z); },
    letGo: () => { held = false; },
    start,
    update,
  };
  return point;
}

// A pointer let go outside a slider, or without moving it: no gesture is under way any more.
if (!lab.pointerWatch) {
  lab.pointerWatch = true;
  // After the event's own handlers: a slider's release (its change event) comes after the pointerup.
  document.addEventListener("pointerup", () => setTimeout(() => Object.values(lab.points).forEach((p) => p.letGo())));
}

export default function ({ data, parentElement, setStateValue }) {
  // Runs again whenever `data` changes: the same run's sliders take the new point in place.
  const existing = parentElement.__latentPoint;
  if (existing && existing.run === data.run && existing.count === data.labels.length && existing.point.connected()) {
    existing.point.update(data);
    return;
  }
  const point = createPoint(parentElement, data, setStateValue);
  parentElement.__latentPoint = { run: data.run, count: data.labels.length, point };
  lab.points[data.run] = point;
  point.start(data);
}
