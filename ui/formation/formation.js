// The latent space as it forms: the encoded test subset on the latent plane (coloured by digit)
// beside a grid of digits decoded over the same plane. One frame while a model trains (the page
// sends a new one as snapshots arrive); a saved run's every epoch, with a scrubber and Play.
// ui/blob.js, ui/palette.js and ui/plane.js are prepended to this file by mount.py. Its words come
// translated in the payload's header (header.text, and the titles and class names: mount.py).

const SIZE = 300;
const PLAY_FRAME_MS = 700;

const lab = (window.__latentLab = window.__latentLab || { states: {}, maps: {}, stats: {} });
lab.formation = lab.formation || {};

function build(root, frames, text, scale) {
  root.querySelector(".formation")?.remove();
  const container = document.createElement("div");
  container.className = "formation";
  container.style.setProperty("--scale", String(scale || 1)); // presenter mode: formation.css's sizes grow
  root.appendChild(container);
  container.innerHTML = `
      <div class="title"></div>
      <div class="views">
        <canvas class="scatter" width="${SIZE}" height="${SIZE}"></canvas>
        <canvas class="grid"></canvas>
      </div>
      <div class="legend"></div>
      <div class="player" ${frames > 1 ? "" : "hidden"}>
        <button type="button" class="play"></button>
        <input class="scrub" type="range" min="0" max="${frames - 1}" step="1" value="${frames - 1}">
      </div>`;
  const get = (selector) => container.querySelector(selector);
  // Set as text, never as HTML: a translation may hold any character.
  get("canvas.scatter").setAttribute("aria-label", text.scatter);
  get("canvas.grid").setAttribute("aria-label", text.grid);
  get("input.scrub").setAttribute("aria-label", text.epoch);
  get("button.play").textContent = `▶ ${text.play}`;
  return { container, title: get(".title"), scatter: get("canvas.scatter"), grid: get("canvas.grid"),
           legend: get(".legend"), play: get("button.play"), scrub: get("input.scrub") };
}

// The scatter's bitmap has as many pixels as the screen gives it (its width on the page times
// devicePixelRatio), and is drawn in SIZE units: a fixed 300 px bitmap, stretched to a projector's
// 500 px or a phone's two device pixels a point, blurred its dots. SIZE until it is laid out.
function screenPixels(canvas) {
  const pixels = Math.round(canvas.clientWidth * (window.devicePixelRatio || 1));
  return pixels > 0 ? pixels : SIZE;
}

function drawScatter(canvas, points, labels, frame, extent) {
  const pixels = screenPixels(canvas);
  if (canvas.width !== pixels) canvas.width = canvas.height = pixels;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(pixels / SIZE, 0, 0, pixels / SIZE, 0, 0);
  const toPx = (v) => ((v + extent) / (2 * extent)) * SIZE;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, SIZE, SIZE);
  drawPlaneLines(ctx, toPx, extent, SIZE);
  drawDigitDots(ctx, toPx, points, labels, frame * labels.length, 0.8);
}

function drawGrid(canvas, grids, frame, side) {
  const size = side * 28;
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  const base = frame * side * side * 784;
  for (let tile = 0; tile < side * side; tile++) {
    const row = Math.floor(tile / side), col = tile % side;
    for (let p = 0; p < 784; p++) {
      const v = grids[base + tile * 784 + p];
      const x = col * 28 + (p % 28), y = row * 28 + Math.floor(p / 28);
      const at = 4 * (y * size + x);
      image.data[at] = image.data[at + 1] = image.data[at + 2] = v;
      image.data[at + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

export default function ({ data, parentElement, key }) {
  const { header, arrays } = readBlob(data);
  const frames = header.epochs.length;
  const ui = build(parentElement, frames, header.text, header.scale);
  ui.legend.innerHTML = legendHtml(header.classes);
  ui.title.classList.toggle("live", header.live);
  const seen = (lab.formation[key] = lab.formation[key] || { shown: [] });

  function show(frame) {
    drawScatter(ui.scatter, arrays.points, arrays.labels, frame, header.extent);
    drawGrid(ui.grid, arrays.grids, frame, header.side);
    ui.title.textContent = header.titles[frame];
    ui.scrub.value = String(frame);
    ui.container.dataset.frame = String(frame);
    ui.container.dataset.frames = String(frames);
    ui.container.dataset.epoch = String(header.epochs[frame]);
    if (seen.shown[seen.shown.length - 1] !== header.titles[frame]) seen.shown.push(header.titles[frame]);
  }

  let timer = null;
  const stop = () => { clearInterval(timer); timer = null; ui.play.textContent = `▶ ${header.text.play}`; };
  ui.play.onclick = () => {
    if (timer) return stop();
    let frame = Number(ui.scrub.value) >= frames - 1 ? 0 : Number(ui.scrub.value);
    show(frame);
    ui.play.textContent = `❚❚ ${header.text.pause}`;
    timer = setInterval(() => {
      frame += 1;
      if (frame >= frames) return stop();
      show(frame);
    }, PLAY_FRAME_MS);
  };
  ui.scrub.oninput = () => { stop(); show(Number(ui.scrub.value)); };
  show(frames - 1);
  // Drawn again at its new size when the page's width changes (a phone turned, presenter mode, a
  // window resized); the last view's watcher goes with it.
  seen.resized?.disconnect();
  seen.resized = new ResizeObserver(() => {
    if (ui.scatter.isConnected && ui.scatter.width !== screenPixels(ui.scatter)) show(Number(ui.scrub.value));
  });
  seen.resized.observe(ui.scatter);
}
