// Where the live curves put their three panels and every text, for a canvas `width` px wide: pure
// (the canvas's text measure is passed in), so a test can lay them out in a browser at a phone's
// width and a projector's, in each language, and check that no two texts cross. On a phone a panel
// is ~65 px wide: a title wider than its panel and the room beside it goes on two lines (or, a word
// alone too wide, in a smaller font), the x axis gets fewer ticks and the second key of the legend
// goes under the first.

export const CURVES_HEIGHT = 300;
const LEFT = 48; // the first panel's y tick labels
const GAP = 56; // between panels: the next panel's y tick labels
const RIGHT = 10;
const TITLE_FONTS = [13, 11];
const TITLE_LINE = 15;
const TICK_FONT = "11px sans-serif";
const LEGEND_FONT = "12px sans-serif";
const LEGEND_ROW = 16;
const KEY = 24; // a key's coloured line and the space after it
const SECOND_KEY_AT = 260; // on a wide canvas the second key starts here, as it always has

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
function titleLines(titles, rooms, measure) {
  for (const size of TITLE_FONTS) {
    const width = (text) => measure(text, `${size}px sans-serif`);
    const wrapped = titles.map((title, index) => wrap(title.split(" "), rooms[index], width));
    const fits = wrapped.every((lines, index) => lines.every((line) => width(line) <= rooms[index]));
    if (fits || size === TITLE_FONTS.at(-1)) {
      return { font: `${size}px sans-serif`, size, lines: wrapped };
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
function epochTicks(epochs, panelWidth, measure) {
  for (let count = Math.min(epochs, 5); count >= 1; count -= 1) {
    const ticks = niceTicks(0, epochs, count);
    const widest = Math.max(...ticks.map((tick) => measure(String(tick), TICK_FONT)));
    if (ticks.length < 2 || panelWidth / (ticks.length - 1) >= widest + 6) return ticks;
  }
  return [0, epochs];
}

// The box a text drawn at `baseline` in a `size` px font covers: its capitals' tops to its descenders.
function box(text, left, baseline, width, size) {
  return { text, left, top: baseline - 0.8 * size, right: left + width, bottom: baseline + 0.25 * size };
}

// text: {epoch, train, test} in the reader's language; titles: the three panels' titles.
export function curvesLayout(width, measure, text, titles, epochs) {
  const panelWidth = (width - LEFT - 2 * GAP - RIGHT) / 3;
  // A title centred over its panel reaches half a gap to each side; the outer ones, the canvas's edge.
  const rooms = titles.map((_, index) => 2 * (panelWidth / 2 - 4 + Math.min(
    index === 0 ? LEFT : GAP / 2, index === titles.length - 1 ? RIGHT : GAP / 2)));
  const title = titleLines(titles, rooms, measure);
  const titleRows = Math.max(...title.lines.map((lines) => lines.length));
  const top = 14 + titleRows * TITLE_LINE;

  const keyWidths = [text.train, text.test].map((label) => KEY + measure(label, LEGEND_FONT));
  const legendLeft = Math.max(4, Math.min(LEFT, width - Math.max(...keyWidths) - 4));
  const secondAt = legendLeft + Math.max(SECOND_KEY_AT, keyWidths[0] + KEY);
  const oneRow = secondAt + keyWidths[1] <= width - 4;
  const legendRows = oneRow ? 1 : 2;
  const bottom = 42 + LEGEND_ROW * legendRows;
  const height = CURVES_HEIGHT - top - bottom;

  const ticks = epochTicks(epochs, panelWidth, measure);
  const epochWidth = measure(text.epoch, TICK_FONT);
  const boxes = [];
  const tickY = top + height + 14, epochY = top + height + 28; // the baselines under every panel
  const panels = titles.map((_, index) => {
    const x = LEFT + index * (panelWidth + GAP);
    const centre = x + panelWidth / 2;
    const lines = title.lines[index].map((line, row) => {
      const baseline = top - 8 - (title.lines[index].length - 1 - row) * TITLE_LINE;
      const lineWidth = measure(line, title.font);
      boxes.push(box(line, centre - lineWidth / 2, baseline, lineWidth, title.size));
      return { text: line, x: centre, y: baseline };
    });
    for (const tick of ticks) {
      const tickWidth = measure(String(tick), TICK_FONT);
      boxes.push(box(String(tick), x + (tick / epochs) * panelWidth - tickWidth / 2, tickY, tickWidth, 11));
    }
    boxes.push(box(text.epoch, centre - epochWidth / 2, epochY, epochWidth, 11));
    return { x, y: top, w: panelWidth, h: height, title: lines, tickY, epochY };
  });
  const legend = [text.train, text.test].map((label, index) => {
    const x = index === 0 || !oneRow ? legendLeft : secondAt;
    const baseline = CURVES_HEIGHT - 11 - (oneRow || index === 1 ? 0 : LEGEND_ROW);
    boxes.push(box(label, x + KEY, baseline, keyWidths[index] - KEY, 12));
    return { label, x, y: baseline };
  });
  return { panels, ticks, titleFont: title.font, legend, boxes };
}
