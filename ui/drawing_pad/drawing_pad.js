// A drawing pad for one digit: mouse, touch or pen (pointer events), a stroke about as thick,
// relative to the digit, as MNIST's pen strokes. Each finished stroke is sent to Python once, as
// a PNG; Clear sends nothing-drawn. The pad keeps its drawing across reruns (and a language change).
const SIZE = 280;
const STROKE = 18;

export default function ({ data, parentElement, setStateValue }) {
  // Its words come from Python, in the session's language (mount.py).
  const label = () => {
    parentElement.querySelector("canvas.pad").setAttribute("aria-label", data.text.pad);
    parentElement.querySelector("button.clear").textContent = data.text.clear;
  };
  if (parentElement.querySelector("canvas.pad")) { label(); return; } // already built: keep the drawing
  const container = document.createElement("div"); // beside the stylesheet Streamlit put in the root
  container.className = "drawing-pad";
  container.innerHTML = `
      <canvas class="pad" width="${SIZE}" height="${SIZE}"></canvas>
      <button type="button" class="clear"></button>`;
  parentElement.appendChild(container);
  label();
  const canvas = parentElement.querySelector("canvas.pad");
  const ctx = canvas.getContext("2d");
  ctx.lineCap = ctx.lineJoin = "round";
  ctx.lineWidth = STROKE;
  ctx.strokeStyle = "#000";
  let last = null;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) / box.width) * SIZE, ((event.clientY - box.top) / box.height) * SIZE];
  };
  canvas.onpointerdown = (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = at(event);
    ctx.beginPath(); ctx.arc(last[0], last[1], STROKE / 2, 0, 2 * Math.PI); ctx.fillStyle = "#000"; ctx.fill();
  };
  canvas.onpointermove = (event) => {
    if (!last) return;
    const point = at(event);
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(point[0], point[1]); ctx.stroke();
    last = point;
  };
  canvas.onpointerup = () => {
    if (!last) return;
    last = null;
    setStateValue("png", canvas.toDataURL("image/png"));
  };
  canvas.onpointercancel = () => { last = null; };
  parentElement.querySelector("button.clear").onclick = () => {
    ctx.clearRect(0, 0, SIZE, SIZE);
    setStateValue("png", null);
  };
}
