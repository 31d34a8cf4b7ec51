// Live training curves: three small panels (loss, reconstruction, KL) drawn on one canvas from
// the points alone. A redraw costs the browser about a millisecond, where re-rendering a plotly
// figure every refresh cost a headless chromium ~0.15 s of CPU: cycles a training on the same
// cores does not get.

// ui/live_curves/curves_layout.js is prepended to this file by mount.py.

const TRAIN_COLOUR = "#1f77b4";
const TEST_COLOUR = "#d62728";

function panelRange(values) {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let low = Math.min(...finite), high = Math.max(...finite);
  const pad = (high - low) * 0.08 || Math.abs(high) * 0.05 || 1;
  return [Math.max(0, low - pad), high + pad];
}

function drawPanel(ctx, panel, train, test, layout, epochs, text) {
  const { x, y, w, h } = panel;
  const scale = layout.scale;
  const [low, high] = panelRange([...train.values, ...test.values]);
  const px = (epoch) => x + (epoch / epochs) * w;
  const py = (value) => y + h - ((value - low) / (high - low)) * h;
  ctx.strokeStyle = "#d0d0d0";
  ctx.fillStyle = "#555";
  ctx.lineWidth = 1;
  ctx.font = layout.tickFont;
  ctx.textAlign = "right";
  for (const tick of niceTicks(low, high, 4)) {
    ctx.beginPath(); ctx.moveTo(x, py(tick)); ctx.lineTo(x + w, py(tick)); ctx.stroke();
    ctx.fillText(String(Math.round(tick * 10) / 10), x - 4 * scale, py(tick) + 4 * scale);
  }
  ctx.textAlign = "center";
  for (const tick of layout.ticks) ctx.fillText(String(tick), px(tick), panel.tickY);
  ctx.fillText(text.epoch, x + w / 2, panel.epochY);
  ctx.font = layout.titleFont;
  ctx.fillStyle = "#222";
  for (const line of panel.title) ctx.fillText(line.text, line.x, line.y);
  ctx.save();
  ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
  ctx.strokeStyle = TRAIN_COLOUR; ctx.lineWidth = 2 * scale; ctx.beginPath();
  train.epochs.forEach((e, i) => (i ? ctx.lineTo(px(e), py(train.values[i])) : ctx.moveTo(px(e), py(train.values[i]))));
  ctx.stroke();
  ctx.strokeStyle = TEST_COLOUR; ctx.fillStyle = TEST_COLOUR; ctx.setLineDash([3 * scale, 3 * scale]); ctx.beginPath();
  test.epochs.forEach((e, i) => (i ? ctx.lineTo(px(e), py(test.values[i])) : ctx.moveTo(px(e), py(test.values[i]))));
  ctx.stroke(); ctx.setLineDash([]);
  test.epochs.forEach((e, i) => { ctx.beginPath(); ctx.arc(px(e), py(test.values[i]), 4 * scale, 0, 2 * Math.PI); ctx.fill(); });
  ctx.restore();
}

function draw(root, data) {
  const canvas = root.querySelector("canvas");
  const width = Math.max(300, root.host ? root.host.clientWidth : canvas.clientWidth || 900);
  const pixels = window.devicePixelRatio || 1;
  const ctx = canvas.getContext("2d");
  const measure = (text, font) => { ctx.font = font; return ctx.measureText(text).width; };
  const layout = curvesLayout(width, measure, data.text, data.panels.map((panel) => panel.title), data.epochs,
                              data.scale, data.height);
  canvas.width = width * pixels; canvas.height = layout.height * pixels;
  canvas.style.width = `${width}px`; canvas.style.height = `${layout.height}px`;
  ctx.setTransform(pixels, 0, 0, pixels, 0, 0);
  ctx.clearRect(0, 0, width, layout.height);
  data.panels.forEach((panel, index) => {
    drawPanel(ctx, layout.panels[index], { epochs: data.train_epochs, values: panel.train },
              { epochs: data.test_epochs, values: panel.test }, layout, data.epochs, data.text);
  });
  ctx.font = layout.legendFont; ctx.textAlign = "left";
  const scale = layout.scale;
  layout.legend.forEach(({ label, x, y }, index) => {
    ctx.fillStyle = index === 0 ? TRAIN_COLOUR : TEST_COLOUR; ctx.fillRect(x, y - 5 * scale, 18 * scale, 3 * scale);
    ctx.fillStyle = "#222"; ctx.fillText(label, x + layout.key, y);
  });
  canvas.dataset.trainPoints = String(data.train_epochs.length);
  canvas.dataset.testPoints = String(data.test_epochs.length);
}

export default function ({ data, parentElement }) {
  let canvas = parentElement.querySelector("canvas");
  if (!canvas) {
    canvas = document.createElement("canvas");
    canvas.className = "live-curves";
    canvas.setAttribute("role", "img");
    parentElement.appendChild(canvas);
  }
  canvas.setAttribute("aria-label", data.text.label);  // each time: the reader may change language
  draw(parentElement, data);
}
