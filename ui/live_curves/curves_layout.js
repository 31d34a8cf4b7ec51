// Where the live curves put their three panels and every text, for a canvas `width` px wide: pure
// (the canvas's text measure is passed in), so a test can lay them out in a browser at a phone's
// width and a projector's, in each language, and check that no two texts cross. On a phone a panel
// is ~65 px wide: a title wider than its panel and the room beside it goes on two lines (or, a word
// alone too wide, in a smaller font), the x axis gets fewer ticks and the second key of the legend
// goes under the first. In presenter mode every size (text, margins; mount.py's canvas height) is
// `scale` times larger, for a projector read from the back of the room.

const LEFT = 48; // the first panel's y tick labels
const GAP = 56; // between panels: the next panel's y tick labels
const RIGHT = 10;
const TITLE_FONTS = [13, 11];
const TITLE_LINE = 15;
const TICK_SIZE = 11;
const LEGEND_SIZE = 12;
const LEGEND_ROW = 16;
const KEY = 24; // a key's coloured line and the space after it
const SECOND_KEY_AT = 260; // on a wide canvas the second key starts here, as it always has
const font = (size) => `${size}px sans-serif`;

// Words in lines no wider than `room` (a word wider than that alone on its line).
function wrap(words, room, width) {
  const lines = [];
  for (const word of words) {
    const last = lines.length - 1;
    if (last >= 0 && width(`${lines[last]} ${word}`) <= room) lines[last] = `${lines[last]} ${word}`;
    else lines.push(word);
  }
  return lines;
}

// rooms: how wide each title may be, centred over its panel.
function titleLines(titles, rooms, measure, scale) {
  for (const size of TITLE_FONTS.map((points) => points * scale)) {
    const width = (text) => measure(text, font(size));
    const wrapped = titles.map((title, index) => wrap(title.split(" "), rooms[index], width));
    const fits = wrapped.every((lines, index) => lines.every((line) => width(line) <= rooms[index]));
    if (fits || size === TITLE_FONTS.at(-1) * scale) {
      return { font: font(size), size, lines: wrapped };
    }
  }
}

// Ticks at 1, 2 or 5 times a power of ten, about `count` of them from `low` to `high`.
export function niceTicks(low, high, count) {
  const span = high - low || Math.abs(high) || 1;
  const raw = span / Math.max(1, count);
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
  return ticks;
}

// The epochs marked under a panel: as many as fit with a space between their labels.
function epochTicks(epochs, panelWidth, measure, tickFont, space) {
  for (let count = Math.min(epochs, 5); count >= 1; count -= 1) {
    const ticks = niceTicks(0, epochs, count);
    const widest = Math.max(...ticks.map((tick) => measure(String(tick), tickFont)));
    if (ticks.length < 2 || panelWidth / (ticks.length - 1) >= widest + space) return ticks;
  }
  return [0, epochs];
}

// The box a text drawn at `baseline` in a `size` px font covers: its capitals' tops to its descenders.
function box(text, left, baseline, width, size) {
  return { text, left, top: baseline - 0.8 * size, right: left + width, bottom: baseline + 0.25 * size };
}

// text: {epoch, train, test} in the reader's language; titles: the three panels' titles; scale: 1, or
// larger in presenter mode; canvasHeight: the height the page gives the component (mount.py).
export function curvesLayout(width, measure, text, titles, epochs, scale, canvasHeight) {
  const [left, gap, right, key] = [LEFT, GAP, RIGHT, KEY].map((size) => size * scale);
  const tickSize = TICK_SIZE * scale, tickFont = font(TICK_SIZE * scale), legendFont = font(LEGEND_SIZE * scale);
  const panelWidth = (width - left - 2 * gap - right) / 3;
  // A title centred over its panel reaches half a gap to each side; the outer ones, the canvas's edge.
  const rooms = titles.map((_, index) => 2 * (panelWidth / 2 - 4 + Math.min(
    index === 0 ? left : gap / 2, index === titles.length - 1 ? right : gap / 2)));
  const title = titleLines(titles, rooms, measure, scale);
  const titleRows = Math.max(...title.lines.map((lines) => lines.length));
  const top = (14 + titleRows * TITLE_LINE) * scale;

  const keyWidths = [text.train, text.test].map((label) => key + measure(label, legendFont));
  const legendLeft = Math.max(4, Math.min(left, width - Math.max(...keyWidths) - 4));
  const secondAt = legendLeft + Math.max(SECOND_KEY_AT * scale, keyWidths[0] + key);
  const oneRow = secondAt + keyWidths[1] <= width - 4;
  const legendRows = oneRow ? 1 : 2;
  const bottom = (42 + LEGEND_ROW * legendRows) * scale;
  const height = canvasHeight - top - bottom;

  const ticks = epochTicks(epochs, panelWidth, measure, tickFont, 6 * scale);
  const epochWidth = measure(text.epoch, tickFont);
  const boxes = [];
  const tickY = top + height + 14 * scale, epochY = top + height + 28 * scale; // the baselines under every panel
  const panels = titles.map((_, index) => {
    const x = left + index * (panelWidth + gap);
    const centre = x + panelWidth / 2;
    const lines = title.lines[index].map((line, row) => {
      const baseline = top - 8 * scale - (title.lines[index].length - 1 - row) * TITLE_LINE * scale;
      const lineWidth = measure(line, title.font);
      boxes.push(box(line, centre - lineWidth / 2, baseline, lineWidth, title.size));
      return { text: line, x: centre, y: baseline };
    });
    for (const tick of ticks) {
      const tickWidth = measure(String(tick), tickFont);
      boxes.push(box(String(tick), x + (tick / epochs) * panelWidth - tickWidth / 2, tickY, tickWidth, tickSize));
    }
    boxes.push(box(text.epoch, centre - epochWidth / 2, epochY, epochWidth, tickSize));
    return { x, y: top, w: panelWidth, h: height, title: lines, tickY, epochY };
  });
  const legend = [text.train, text.test].map((label, index) => {
    const x = index === 0 || !oneRow ? legendLeft : secondAt;
    const baseline = canvasHeight - (11 + (oneRow || index === 1 ? 0 : LEGEND_ROW)) * scale;
    boxes.push(box(label, x + key, baseline, keyWidths[index] - key, LEGEND_SIZE * scale));
    return { label, x, y: baseline };
  });
  return { panels, ticks, titleFont: title.font, tickFont, legendFont, key, scale, height: canvasHeight, legend, boxes };
}
