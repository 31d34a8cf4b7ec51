// The explorer's sliders, one per latent dimension shown (up to 16), drawn here in the browser
// beside the latent map. Moving one hands the point to the map, which decodes and paints the digit
// at once (window.__latentLab.maps): no server round trip while a person explores. Only the end of
// a gesture goes to Python, once: a pointer's release, or a run of key presses once it settles. The
// map's own drags and keys end here too (lab.points), so on the explorer every move costs the
// server one small rerun of the sliders' fragment, never of the map's.
// Native range inputs: Tab reaches each; the arrows move it a step, Page Up/Down a tenth of the
// range, Home and End to its ends; a screen reader reads its name and its value.

const SETTLE_MS = 400; // a run of key presses is one gesture, told to Python once it settles
const ECHOES = 8; // the points told to Python lately, whose echo in a rerun must not move the sliders back

const lab = (window.__latentLab = window.__latentLab || { states: {}, maps: {}, stats: {} });
lab.points = lab.points || {};

const rounded = (z) => z.map((v) => Math.round(v * 100) / 100);
const identity = (z) => JSON.stringify(rounded(z));
const shownValue = (v) => (v < 0 ? "−" : "") + Math.abs(v).toFixed(2);

function build(root, data) {
  root.querySelector(".latent-point")?.remove();
  const container = document.createElement("div");
  container.className = "latent-point";
  container.setAttribute("role", "group");
  container.setAttribute("aria-label", data.text.group);
  container.innerHTML = data.labels.map((name, index) => `
      <label class="point-row">
        <span class="point-name">${name}</span>
        <output class="point-value" aria-hidden="true"></output>
        <input class="point-slider" type="range" name="z${index}" min="${-data.extent}" max="${data.extent}"
               step="${data.step}" aria-label="${name}">
      </label>`).join("");
  root.appendChild(container);
  return { container, inputs: [...container.querySelectorAll("input")], outputs: [...container.querySelectorAll("output")] };
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

  function report(z = values()) {
    settle = null;
    z = rounded(z.slice(0, ui.inputs.length));
    sent.push(identity(z));
    if (sent.length > ECHOES) sent.shift();
    setStateValue("z", z);
  }

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
  // back in the rerun it started, is not applied again: the sliders may have moved on since.
  function update(next) {
    data = next;
    const incoming = identity(next.z);
    if (incoming === lastIncoming) return;
    lastIncoming = incoming;
    if (held || settle || sent.includes(incoming)) return;
    show(next.z);
    toMap(full(next.z));
  }

  // The map's drags and keys end here too: the sliders show the point, and it is told to Python once.
  const point = {
    connected: () => ui.container.isConnected,
    follow: (z) => show(z),
    report: (z) => { show(z); report(z); },
    letGo: () => { held = false; },
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
  point.update(data);
}
