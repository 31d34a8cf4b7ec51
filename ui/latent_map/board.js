// The class board on the latent map (pages/class_map.py): every drawing as a dot of the colour of
// the digit its author says they drew, ringed in red when it landed among another digit (the
// model's surprise); the guesses of the open question; the revealed answer; the point a "which
// digit here?" question asks about. Drawn after the map's own dots. ui/palette.js comes first.

export function drawBoard(ctx, toPx, state) {
  for (const g of state.guesses || []) {
    ctx.fillStyle = "rgba(20, 20, 20, 0.35)";
    ctx.beginPath(); ctx.arc(toPx(g[0]), toPx(-g[1]), 4, 0, 2 * Math.PI); ctx.fill();
  }
  for (const d of state.board || []) {
    const x = toPx(d.at[0]), y = toPx(-d.at[1]);
    ctx.fillStyle = DIGIT_COLOURS[d.digit];
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc(x, y, 7, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    ctx.fillStyle = "#fff"; ctx.font = "bold 9px sans-serif"; ctx.textAlign = "center";
    ctx.fillText(d.mark ?? String(d.digit), x, y + 3); // the class in a letter or two where it is not a digit
    if (d.surprise) {
      ctx.strokeStyle = "#d00"; ctx.lineWidth = 2; ctx.setLineDash([3, 2]);
      ctx.beginPath(); ctx.arc(x, y, 11, 0, 2 * Math.PI); ctx.stroke(); ctx.setLineDash([]);
    }
    if (d.name) {
      ctx.fillStyle = "#333"; ctx.font = "10px sans-serif"; ctx.textAlign = "left";
      ctx.fillText(d.name, x + 12, y + 4);
    }
  }
  ctx.textAlign = "left";
  if (state.target) {
    const x = toPx(state.target[0]), y = toPx(-state.target[1]);
    ctx.strokeStyle = "#000"; ctx.lineWidth = 3;
    ctx.beginPath(); ctx.moveTo(x - 10, y); ctx.lineTo(x + 10, y); ctx.moveTo(x, y - 10); ctx.lineTo(x, y + 10);
    ctx.stroke();
  }
}

// The drawing nearest (x, y) in map pixels, within `radius`; null if none.
export function boardDrawingAt(state, toPx, px, py, radius) {
  let best = null, bestDistance = radius * radius;
  for (const d of state.board || []) {
    const dx = toPx(d.at[0]) - px, dy = toPx(-d.at[1]) - py;
    if (dx * dx + dy * dy < bestDistance) { best = d; bestDistance = dx * dx + dy * dy; }
  }
  return best;
}

// A drawing's 784 pixels (base64 bytes) into a 28 x 28 canvas: white ink on black, as the digit.
export function paintDrawing(canvas, pixels) {
  const bytes = Uint8Array.from(atob(pixels), (c) => c.charCodeAt(0));
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = bytes[i];
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}
