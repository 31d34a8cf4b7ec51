// The latent map: encoded test images on the latent plane, and the digit for any point decoded
// here in the browser while you drag (at most one decode per animation frame, no server round
// trip). The page sends the weights once per run; what changes (a posterior, a path, the background
// toggle) arrives through the small "map state" component, and the explorer's point from its sliders
// (point.js), both handing it over in window.__latentLab. The end of a gesture goes to Python once:
// on the explorer through the sliders, which tell it only where it needs the point. Every word it
// shows comes from Python in the session's language (the payload header's "text", mount.py);
// templates' {fields} are filled here.
// ui/blob.js, ui/palette.js, ui/plane.js, board.js, decoder.js and weight_codes.js are prepended to
// this file by mount.py.

const MAP_SIZE = 480;
const GRID_TILES = 20;
const PICK_RADIUS_PX = 7;
const CLICK_SLOP_PX = 4;
const PLAY_SECONDS = 3;
const KEY_STEPS = 40; // an arrow key moves the point 1/40 of the map's side (Shift: 5 times that)
const KEY_SETTLE_MS = 400; // a run of key presses is one gesture: told to Python and read out once it settles

const lab = (window.__latentLab = window.__latentLab || { states: {}, maps: {}, stats: {} });
lab.codes = lab.codes || {}; // a training's run -> its codes last unpacked {step, epoch, codes}: the base of its next epoch
lab.codesReceived = lab.codesReceived || {}; // run -> {whole, changes, missing}: how its weights came (for tests and benchmarks)

// A template's {name} fields, filled.
const fill = (template, fields) => template.replace(/\{(\w+)\}/g, (match, name) => (name in fields ? String(fields[name]) : match));

// The page sends one binary blob per run (pack.py, read by ui/blob.js); null when its weights are a
// change from codes this browser does not hold.
async function readPayload(data) {
  const { header, arrays } = readBlob(data);
  const weights = header.codes ? await weightsFromCodes(header.run, header.codes, arrays.weight_codes) : arrays.weights;
  return weights && { ...header, weights, points: arrays.points, labels: arrays.labels };
}

// Weights on a grid (weight_grid.py): whole, or the change since an epoch whose codes we hold.
async function weightsFromCodes(run, coded, packed) {
  const chain = coded.chain || run; // a saved run's map may come as the change from its training's live map
  const held = lab.codes[chain];
  const same = held && held.step === coded.step;
  const counts = (lab.codesReceived[run] = lab.codesReceived[run] || { whole: 0, changes: 0, missing: 0 });
  if (same && coded.epoch !== null && held.epoch === coded.epoch) return weightsOnGrid(held.codes, coded.step); // sent again
  if (coded.base !== null && !(same && held.epoch === coded.base)) {
    counts.missing += 1;
    return null;
  }
  counts[coded.base === null ? "whole" : "changes"] += 1;
  const sent = unzigzag(await inflate(packed), coded.count);
  const codes = coded.base === null ? sent : addCodes(held.codes, sent);
  if (coded.epoch !== null) keepCodes(chain, { step: coded.step, epoch: coded.epoch, codes });
  return weightsOnGrid(codes, coded.step);
}

const KEPT_TRAININGS = 4;
function keepCodes(run, held) {
  delete lab.codes[run]; // re-added last: the keys stay in the order trainings were last seen
  lab.codes[run] = held;
  const runs = Object.keys(lab.codes);
  for (const old of runs.slice(0, Math.max(0, runs.length - KEPT_TRAININGS))) delete lab.codes[old];
}

function build(root) {
  // Into a container of our own: the root also holds the stylesheet Streamlit put there.
  root.querySelector(".latent-map")?.remove();
  const container = document.createElement("div");
  container.className = "latent-map";
  root.appendChild(container);
  container.innerHTML = `
      <div class="map-column">
        <div class="map-frame">
          <canvas class="map" width="${MAP_SIZE}" height="${MAP_SIZE}" tabindex="0" role="application"></canvas>
          <canvas class="drawing-tip" width="28" height="28" hidden></canvas>
        </div>
        <div class="legend"></div>
        <div class="map-status" aria-live="polite"></div>
      </div>
      <div class="digit-column">
        <canvas class="digit" width="28" height="28"></canvas>
        <div class="caption"></div>
        <div class="player" hidden>
          <button type="button" class="play"></button>
          <input class="scrub" type="range" min="0" max="1000" value="0">
        </div>
      </div>`;
  return {
    container,
    map: root.querySelector("canvas.map"),
    tip: root.querySelector("canvas.drawing-tip"),
    digit: root.querySelector("canvas.digit"),
    caption: root.querySelector(".caption"),
    legend: root.querySelector(".legend"),
    status: root.querySelector(".map-status"),
    player: root.querySelector(".player"),
    play: root.querySelector("button.play"),
    scrub: root.querySelector("input.scrub"),
  };
}

// The map's words (labels, caption, legend), in the language Python sent them in.
function label(ui, text) {
  ui.map.setAttribute("aria-roledescription", text.roledescription);
  ui.map.setAttribute("aria-label", text.map);
  ui.tip.setAttribute("aria-label", text.tip);
  ui.digit.setAttribute("aria-label", text.digit);
  ui.caption.textContent = text.caption;
  ui.play.textContent = text.play;
  ui.scrub.setAttribute("aria-label", text.scrub);
  ui.legend.innerHTML = legendHtml(text.classes);
}

function createMap(root, data, setStateValue, setTriggerValue) {
  const ui = build(root);
  // What a new model of the same run (a live training's next epoch) replaces in place: see replace().
  let model = unpackModel(data.decoder, data.weights);
  let points = data.points;
  let labels = data.labels;
  let plane = data.plane;
  let extent = data.extent;
  let text = data.text;
  let classes = data.classes || text.classes; // as the payload names them: which article an English name takes
  const toPx = (v) => ((v + extent) / (2 * extent)) * MAP_SIZE;
  const fromPx = (p) => (p / MAP_SIZE) * 2 * extent - extent;
  const stats = (lab.stats[data.run] = { frames: 0, paintMs: [], swaps: 0 });

  const backdrop = document.createElement("canvas"); // background grid + dots, redrawn rarely
  backdrop.width = backdrop.height = MAP_SIZE;
  // Everything is drawn in MAP_SIZE units; the canvases hold as many device pixels as the map shows
  // (a projector's map is twice a laptop's), so lines and names stay sharp at any size.
  let density = 1;
  let shownWidth = MAP_SIZE; // CSS pixels
  const digitCtx = ui.digit.getContext("2d");
  const digitImage = digitCtx.createImageData(28, 28);
  const mapCtx = ui.map.getContext("2d");

  const view = { z: plane.mean.slice(), state: {}, gridDone: 0, dragging: null, pending: null, playing: null };

  label(ui, text);

  function paintDigit(z) {
    const started = performance.now();
    const pixels = decode(model, z);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(Math.min(1, Math.max(0, pixels[i])) * 255);
      digitImage.data[4 * i] = digitImage.data[4 * i + 1] = digitImage.data[4 * i + 2] = v;
      digitImage.data[4 * i + 3] = 255;
    }
    digitCtx.putImageData(digitImage, 0, 0);
    stats.frames += 1;
    stats.paintMs.push(performance.now() - started);
    if (stats.paintMs.length > 600) stats.paintMs.splice(0, 300);
    ui.digit.dataset.frames = String(stats.frames);
  }

  function drawBackdrop() {
    const ctx = backdrop.getContext("2d");
    ctx.setTransform(density, 0, 0, density, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, MAP_SIZE, MAP_SIZE);
    if (view.state.show_grid) drawGridTiles(ctx, 0, view.gridDone);
    drawPlaneLines(ctx, toPx, extent, MAP_SIZE);
    drawDigitDots(ctx, toPx, points, labels, 0, view.state.show_grid ? 0.55 : 0.8);
    ctx.fillStyle = "#666";
    ctx.font = `${(presenting() ? 20 : 12) * unit()}px sans-serif`; // CSS pixels on the screen
    ctx.fillText(`${text.axes[0]} →`, MAP_SIZE - 150, MAP_SIZE - 6);
    ctx.save(); ctx.translate(12, 150); ctx.rotate(-Math.PI / 2); ctx.fillText(`${text.axes[1]} →`, 0, 0); ctx.restore();
  }

  // The decoded manifold behind the dots, a few tiles per frame so dragging never stalls.
  const tileImage = new ImageData(28, 28);
  const tileCanvas = document.createElement("canvas");
  tileCanvas.width = tileCanvas.height = 28;
  function drawGridTiles(ctx, from, to) {
    const tile = MAP_SIZE / GRID_TILES;
    for (let index = from; index < to; index++) {
      const row = Math.floor(index / GRID_TILES), col = index % GRID_TILES;
      const x = -extent + (col + 0.5) * (2 * extent / GRID_TILES);
      const y = extent - (row + 0.5) * (2 * extent / GRID_TILES);
      const pixels = decode(model, planeToLatent(plane, x, y));
      for (let i = 0; i < 784; i++) {
        const v = 255 - Math.round(Math.min(1, Math.max(0, pixels[i])) * 150);
        tileImage.data[4 * i] = tileImage.data[4 * i + 1] = tileImage.data[4 * i + 2] = v;
        tileImage.data[4 * i + 3] = 255;
      }
      tileCanvas.getContext("2d").putImageData(tileImage, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(tileCanvas, col * tile, row * tile, tile, tile);
    }
  }

  function ellipsePath(ctx, e, scale) {
    const unit = MAP_SIZE / (2 * extent);
    ctx.beginPath();
    ctx.ellipse(toPx(e.centre[0]), toPx(-e.centre[1]), Math.max(1, e.radii[0] * scale * unit),
                Math.max(1, e.radii[1] * scale * unit), -e.angle, 0, 2 * Math.PI);
  }

  function drawPosterior(ctx, e, colour) {
    ctx.strokeStyle = colour; ctx.lineWidth = 2; ellipsePath(ctx, e, 1); ctx.stroke();
    ctx.setLineDash([5, 4]); ellipsePath(ctx, e, 2); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = colour; ctx.beginPath();
    ctx.arc(toPx(e.centre[0]), toPx(-e.centre[1]), 4, 0, 2 * Math.PI); ctx.fill();
  }

  const unit = () => MAP_SIZE / shownWidth; // drawing units per CSS pixel
  const presenting = () => Boolean(view.state.presenter);
  const boardLook = () => (presenting() ? BOARD_LOOK.presenter : BOARD_LOOK.normal);

  // The canvases follow the map's size on the screen (a window resized, presenter mode switched).
  function fitToScreen() {
    shownWidth = ui.map.getBoundingClientRect().width || MAP_SIZE;
    const wanted = Math.min(4, Math.max(1, Math.ceil((shownWidth * (window.devicePixelRatio || 1)) / MAP_SIZE * 4) / 4));
    if (wanted !== density) {
      density = wanted;
      ui.map.width = ui.map.height = backdrop.width = backdrop.height = Math.round(MAP_SIZE * density);
      view.gridDone = 0;
    }
    drawBackdrop();
    requestFrame();
  }

  function drawOverlay() {
    mapCtx.setTransform(1, 0, 0, 1, 0, 0);
    mapCtx.drawImage(backdrop, 0, 0);
    mapCtx.setTransform(density, 0, 0, density, 0, 0);
    const s = view.state;
    if (s.path) {
      const [a, b] = [latentToPlane(plane, s.path.from), latentToPlane(plane, s.path.to)];
      mapCtx.strokeStyle = "#222"; mapCtx.lineWidth = 2; mapCtx.beginPath();
      mapCtx.moveTo(toPx(a[0]), toPx(-a[1])); mapCtx.lineTo(toPx(b[0]), toPx(-b[1])); mapCtx.stroke();
      for (const p of [a, b]) {
        mapCtx.fillStyle = "#222"; mapCtx.beginPath(); mapCtx.arc(toPx(p[0]), toPx(-p[1]), 5, 0, 2 * Math.PI); mapCtx.fill();
      }
    }
    drawBoard(mapCtx, toPx, s, boardLook(), unit());
    if (s.answer) drawPosterior(mapCtx, s.answer, "#000");
    if (s.posterior) drawPosterior(mapCtx, s.posterior, "#111");
    if (s.drawn) drawPosterior(mapCtx, s.drawn, "#c2185b");
    for (const p of s.samples || []) {
      mapCtx.strokeStyle = "#111"; mapCtx.lineWidth = 1.5; mapCtx.beginPath();
      mapCtx.moveTo(toPx(p[0]) - 4, toPx(-p[1]) - 4); mapCtx.lineTo(toPx(p[0]) + 4, toPx(-p[1]) + 4);
      mapCtx.moveTo(toPx(p[0]) + 4, toPx(-p[1]) - 4); mapCtx.lineTo(toPx(p[0]) - 4, toPx(-p[1]) + 4); mapCtx.stroke();
    }
    const [mx, my] = latentToPlane(plane, view.z);
    mapCtx.strokeStyle = "#000"; mapCtx.lineWidth = 2; mapCtx.beginPath();
    mapCtx.arc(toPx(mx), toPx(-my), 8, 0, 2 * Math.PI); mapCtx.stroke();
    mapCtx.strokeStyle = "#fff"; mapCtx.lineWidth = 1; mapCtx.beginPath();
    mapCtx.arc(toPx(mx), toPx(-my), 9.5, 0, 2 * Math.PI); mapCtx.stroke();
  }

  // One decode and one repaint per animation frame, whatever the pointer does in between.
  let frameRequested = false;
  function requestFrame() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(frame);
  }
  function frame(now) {
    frameRequested = false;
    if (!ui.map.isConnected) return; // Streamlit mounted the element again: that map draws, not this one
    if (view.playing) {
      const t = Math.min(1, (now - view.playing.start) / (PLAY_SECONDS * 1000));
      setPathPosition(t);
      if (t < 1) requestFrame(); else view.playing = null;
    }
    if (view.pending) {
      view.z = view.pending;
      view.pending = null;
      paintDigit(view.z);
      sliders()?.follow(view.z);
    }
    if (view.state.show_grid && view.gridDone < GRID_TILES * GRID_TILES) {
      const budgetEnd = performance.now() + 6;
      const ctx = backdrop.getContext("2d");
      while (view.gridDone < GRID_TILES * GRID_TILES && performance.now() < budgetEnd) {
        drawGridTiles(ctx, view.gridDone, view.gridDone + 1);
        view.gridDone += 1;
      }
      if (view.gridDone === GRID_TILES * GRID_TILES) drawBackdrop(); // dots back on top
      requestFrame();
    }
    drawOverlay();
  }

  function pointerPlane(event) {
    const box = ui.map.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * MAP_SIZE;
    const py = ((event.clientY - box.top) / box.height) * MAP_SIZE;
    const clamp = (v) => Math.max(-extent, Math.min(extent, v));
    return { px, py, x: clamp(fromPx(px)), y: clamp(-fromPx(py)) };
  }

  function nearestPoint(px, py) {
    let best = -1, bestDistance = PICK_RADIUS_PX * PICK_RADIUS_PX;
    for (let i = 0; i < labels.length; i++) {
      const dx = toPx(points[2 * i]) - px, dy = toPx(-points[2 * i + 1]) - py;
      const distance = dx * dx + dy * dy;
      if (distance < bestDistance) { best = i; bestDistance = distance; }
    }
    return best;
  }

  const round = (values) => values.map((v) => Math.round(v * 1000) / 1000);

  // The explorer's sliders for this run (point.js), when they are on the page: they show where the
  // point is, and tell Python the end of each gesture, in a rerun of their own small fragment.
  const sliders = () => {
    const point = lab.points && lab.points[data.run];
    return point && point.connected() ? point : null;
  };
  // The one message to Python for a gesture that ends at z. Kept here too: a map rebuilt for a new
  // model (a live training's next epoch) starts there.
  function tell(z) {
    lab.states[data.run] = Object.assign({}, lab.states[data.run], { z });
    const point = sliders();
    if (point) point.report(z);
    else setStateValue("z", z);
  }

  ui.map.onpointerdown = (event) => {
    ui.map.setPointerCapture(event.pointerId);
    const p = pointerPlane(event);
    view.playing = null;
    view.dragging = { startX: p.px, startY: p.py, moved: false };
    view.pending = planeToLatent(plane, p.x, p.y);
    requestFrame();
  };
  // A class-map drawing under the pointer (hover) or finger (tap) is shown beside it.
  function showDrawingTip(p) {
    const look = boardLook();
    const d = boardDrawingAt(view.state, toPx, p.px, p.py, (look.dot + 3) * unit());
    if (!d || !d.pixels) { ui.tip.hidden = true; return; }
    paintDrawing(ui.tip, d.pixels);
    const box = ui.map.getBoundingClientRect(), scale = box.width / MAP_SIZE;
    const tip = presenting() ? 116 : 60; // its size in latent_map.css, with the border
    ui.tip.style.left = `${Math.min(p.px * scale + 12, box.width - tip - 4)}px`;
    ui.tip.style.top = `${Math.max(p.py * scale - tip - 4, 0)}px`;
    ui.tip.hidden = false;
  }
  ui.map.onpointerleave = () => { ui.tip.hidden = true; };

  ui.map.onpointermove = (event) => {
    if (!view.dragging) { if (event.pointerType === "mouse") showDrawingTip(pointerPlane(event)); return; }
    const p = pointerPlane(event);
    if (Math.hypot(p.px - view.dragging.startX, p.py - view.dragging.startY) > CLICK_SLOP_PX) view.dragging.moved = true;
    view.pending = planeToLatent(plane, p.x, p.y);
    requestFrame();
  };
  ui.map.onpointerup = (event) => {
    if (!view.dragging) return;
    const p = pointerPlane(event);
    const tapped = !view.dragging.moved;
    // On the class map a tap shows the drawing under it, and while a question is open it is a guess
    // (the release below), never the pick of a test image.
    const picked = tapped && !view.state.guess_mode && !(view.state.board || []).length ? nearestPoint(p.px, p.py) : -1;
    if (tapped) showDrawingTip(p);
    view.dragging = null;
    view.pending = planeToLatent(plane, p.x, p.y);
    requestFrame();
    // The one message to Python for the whole gesture.
    if (picked >= 0) setTriggerValue("picked", picked);
    else tell(round(view.pending));
  };
  ui.map.onpointercancel = () => { view.dragging = null; };

  // The keyboard does what a pointer does: arrows move the point (the digit redraws at once), Home
  // returns to the centre, Enter picks the nearest test image (or, while a question is open on the
  // class map, sends the guess). A run of presses is one gesture: one message to Python, and one
  // polite sentence for a screen reader, once the keys settle.
  let settle = null;
  function nearestOverall(x, y) {
    let best = -1, bestDistance = Infinity;
    for (let i = 0; i < labels.length; i++) {
      const distance = (points[2 * i] - x) ** 2 + (points[2 * i + 1] - y) ** 2;
      if (distance < bestDistance) { best = i; bestDistance = distance; }
    }
    return best;
  }
  function describe(z) {
    const [x, y] = latentToPlane(plane, z);
    const near = nearestOverall(x, y);
    const fmt = (v) => (v < 0 ? "−" : "") + Math.abs(v).toFixed(2);
    const axis = plane.axes.length && plane.axes[0] === "z₁" ? "z" : text.point;
    if (near < 0) return `${axis} = (${fmt(x)}, ${fmt(y)})`;
    return fill(text.among, { axis, x: fmt(x), y: fmt(y), name: text.classes[labels[near]] });
  }
  function settled() {
    settle = null;
    const z = view.pending || view.z; // a key pressed since the last frame has not reached view.z yet
    ui.status.textContent = describe(z);
    tell(round(z));
  }
  ui.map.onkeydown = (event) => {
    const moves = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
    const current = view.pending || view.z;
    let [x, y] = latentToPlane(plane, current);
    if (event.key in moves) {
      const step = (2 * extent / KEY_STEPS) * (event.shiftKey ? 5 : 1);
      const clamp = (v) => Math.max(-extent, Math.min(extent, v));
      x = clamp(x + moves[event.key][0] * step);
      y = clamp(y + moves[event.key][1] * step);
    } else if (event.key === "Home") {
      x = 0; y = 0;
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (settle) { clearTimeout(settle); settle = null; }
      if (view.state.guess_mode || (view.state.board || []).length) { settled(); return; }
      // One message for the press, as a click sends: two at once (the point, then the pick) could
      // have the pick lost in a rerun the first began. The point is kept here for the next map.
      lab.states[data.run] = Object.assign({}, lab.states[data.run], { z: round(view.pending || view.z) });
      const picked = nearestOverall(x, y);
      if (picked >= 0) {
        const an = /^[aeiou8]/i.test(String(classes[labels[picked]])); // English's "an 8", "an Ankle boot"
        ui.status.textContent = fill(an ? text.picked_an : text.picked_a, { index: picked, name: text.classes[labels[picked]] });
        setTriggerValue("picked", picked);
      }
      return;
    } else {
      return;
    }
    event.preventDefault(); // the page does not scroll under the map
    view.playing = null;
    view.pending = planeToLatent(plane, x, y);
    requestFrame();
    if (settle) clearTimeout(settle);
    settle = setTimeout(settled, KEY_SETTLE_MS);
  };

  function setPathPosition(t) {
    const s = view.state;
    if (!s.path) return;
    ui.scrub.value = String(Math.round(t * 1000));
    view.pending = s.path.from.map((a, i) => (1 - t) * a + t * s.path.to[i]);
  }
  ui.play.onclick = () => {
    view.playing = { start: performance.now() };
    requestFrame();
  };
  ui.scrub.oninput = () => {
    view.playing = null;
    setPathPosition(Number(ui.scrub.value) / 1000);
    requestFrame();
  };

  // The sliders moved (point.js): the digit follows at the next frame, unless a gesture on the map
  // itself is under way.
  function setPoint(z) {
    if (view.dragging || settle) return;
    view.playing = null;
    view.pending = z.slice();
    requestFrame();
  }

  function apply(state) {
    const gridChanged = Boolean(state.show_grid) !== Boolean(view.state.show_grid);
    const restyled = Boolean(state.presenter) !== presenting();
    view.state = state || {};
    ui.container.classList.toggle("presenter", presenting()); // the size follows: see fitToScreen
    ui.player.hidden = !view.state.path;
    if (gridChanged) view.gridDone = 0;
    if (gridChanged || restyled) drawBackdrop();
    // A gesture under way keeps its point: a rerun begun by an earlier one (the Home before these
    // arrows) brings back that older point, and would undo the keys pressed since.
    if (!view.dragging && !view.playing && !settle && state.z) view.pending = state.z.slice();
    requestFrame();
  }

  // New weights (and points) for the same run: swap them under whatever the person is doing. A
  // drag keeps dragging, a Play keeps playing, the point stays; the dots and the digit are redrawn
  // with the new model at the next frame, and so are the background tiles, a few per frame.
  function replace(next) {
    model = unpackModel(next.decoder, next.weights);
    points = next.points;
    labels = next.labels;
    plane = next.plane;
    extent = next.extent;
    text = next.text; // a page run again in another language sends the same weights with other words
    classes = next.classes || text.classes;
    label(ui, text);
    view.gridDone = 0;
    drawBackdrop();
    if (!view.pending) view.pending = view.z.slice();
    stats.swaps += 1;
    ui.digit.dataset.swaps = String(stats.swaps);
    requestFrame();
  }

  drawBackdrop();
  paintDigit(view.z);
  new ResizeObserver(fitToScreen).observe(ui.map);
  return { apply, replace, setPoint, decode: (z) => Array.from(decode(model, z)), stats };
}

export default function ({ data, parentElement, setStateValue, setTriggerValue }) {
  // Runs again whenever `data` changes. Payloads are shown in the order they came: a training's next
  // epoch may be a change from the one before, whose weights are then still being unpacked.
  parentElement.__payloads = (parentElement.__payloads || Promise.resolve())
    .then(() => show(data, parentElement, setStateValue, setTriggerValue))
    .catch((error) => console.error("latent map:", error));
}

async function show(raw, parentElement, setStateValue, setTriggerValue) {
  const data = await readPayload(raw);
  // Unmounted while its weights were unpacked (Streamlit mounted the element again): the new mount's
  // own call draws it; a map made here would draw into a detached canvas.
  if (!parentElement.isConnected) return;
  if (!data) {
    setTriggerValue("missing", true); // Python sends the weights whole
    return;
  }
  // The same run with a new model (a live training's next epoch) is swapped into the map that is
  // there; another run gets a map of its own.
  const existing = parentElement.__latentMap;
  if (existing && existing.run === data.run && parentElement.querySelector(".latent-map")) {
    existing.map.replace(data);
    return;
  }
  const map = createMap(parentElement, data, setStateValue, setTriggerValue);
  parentElement.__latentMap = { run: data.run, map };
  lab.maps[data.run] = map;
  map.apply(lab.states[data.run] || {});
}
