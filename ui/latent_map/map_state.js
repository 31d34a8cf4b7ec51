// The map's changing state (a posterior, a path, the background toggle, a class's board), a few
// hundred bytes per rerun. Kept apart from the map's own data so that data (the weights, ~1 MB)
// stays byte-identical and the browser is not sent it again on every rerun. Each section of the
// page sends only its own part (its own fragment reruns alone); the parts are merged here.
export default function ({ data }) {
  const lab = (window.__latentLab = window.__latentLab || { states: {}, maps: {}, stats: {} });
  const merged = Object.assign({}, lab.states[data.run], data.state);
  lab.states[data.run] = merged;
  if (lab.maps[data.run]) lab.maps[data.run].apply(merged);
}
