// Drawing on the latent plane, shared by the latent map and the formation view: the unit grid
// lines and the test images as dots coloured by digit. ui/palette.js comes before this file.

export function drawPlaneLines(ctx, toPx, extent, size) {
  ctx.strokeStyle = "#e4e4e4";
  for (let v = -Math.floor(extent); v <= extent; v++) {
    ctx.beginPath(); ctx.moveTo(toPx(v), 0); ctx.lineTo(toPx(v), size); ctx.stroke();
    ctx.beginPath(); ctx.moveTo(0, toPx(-v)); ctx.lineTo(size, toPx(-v)); ctx.stroke();
  }
}

// `points` holds (x, y) pairs; the n = labels.length points drawn start at pair `first`.
export function drawDigitDots(ctx, toPx, points, labels, first, alpha) {
  ctx.globalAlpha = alpha;
  for (let i = 0; i < labels.length; i++) {
    ctx.fillStyle = DIGIT_COLOURS[labels[i]];
    ctx.fillRect(toPx(points[2 * (first + i)]) - 1.5, toPx(-points[2 * (first + i) + 1]) - 1.5, 3, 3);
  }
  ctx.globalAlpha = 1;
}

const DIGITS = DIGIT_COLOURS.map((_, d) => String(d));
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// One swatch per class, named as the run's data set names them (the payload's "classes"; digits by default).
export function legendHtml(names = DIGITS) {
  return DIGIT_COLOURS.map((c, d) => `<span><i style="background:${c}"></i>${escapeHtml(names[d] ?? d)}</span>`).join("");
}
