// The class board on the latent map (pages/class_map.py): every drawing as a dot of the colour of
// the digit its author says they drew, ringed in red when it landed among another digit (the
// model's surprise); the guesses of the open question; the revealed answer; the point a "which
// digit here?" question asks about. Drawn after the map's own dots. ui/palette.js comes first.

// Sizes on the screen, in CSS pixels, whatever the map's size: a projector's map is read from the
// back of the room (presenter mode: names at least 20 px, dots at least 8 px across).
export const BOARD_LOOK = {
  normal: { dot: 7, mark: 10, name: 13, guess: 4 },
  presenter: { dot: 11, mark: 14, name: 22, guess: 6 },
};

// `unit`: the map's drawing units per CSS pixel (the canvas is drawn in fixed units, shown at any size).
export function drawBoard(ctx, toPx, state, look = BOARD_LOOK.normal, unit = 1) {
  const dot = look.dot * unit;
  for (const g of state.guesses || []) {
    ctx.fillStyle = "rgba(20, 20, 20, 0.35)";
    ctx.beginPath(); ctx.arc(toPx(g[0]), toPx(-g[1]), look.guess * unit, 0, 2 * Math.PI); ctx.fill();
  }
  for (const d of state.board || []) {
    const x = toPx(d.at[0]), y = toPx(-d.at[1]);
    ctx.fillStyle = DIGIT_COLOURS[d.digit];
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 2 * unit;
    ctx.beginPath(); ctx.arc(x, y, dot, 0, 2 * Math.PI); ctx.fill(); ctx.stroke();
    ctx.fillStyle = "#fff"; ctx.font = `bold ${look.mark * unit}px sans-serif`; ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(d.mark ?? String(d.digit), x, y); // the class in a letter or two where it is not a digit
    if (d.surprise) {
      ctx.strokeStyle = "#d00"; ctx.lineWidth = 2 * unit; ctx.setLineDash([3 * unit, 2 * unit]);
      ctx.beginPath(); ctx.arc(x, y, dot + 4 * unit, 0, 2 * Math.PI); ctx.stroke(); ctx.setLineDash([]);
    }
    if (d.name) {
      ctx.font = `${look.name * unit}px sans-serif`; ctx.textAlign = "left";
      ctx.lineWidth = 3 * unit; ctx.strokeStyle = "rgba(255, 255, 255, 0.85)"; // legible over dots and tiles
      ctx.strokeText(d.name, x + dot + 4 * unit, y);
      ctx.fillStyle = "#222";
      ctx.fillText(d.name, x + dot + 4 * unit, y);
    }
  }
  ctx.textBaseline = "alphabetic";
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
