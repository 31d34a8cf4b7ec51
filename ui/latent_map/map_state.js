// The map's changing state (the sliders' z, a posterior, a path, the background toggle), a few
// hundred bytes per rerun. Kept apart from the map's own data so that data (the weights, ~1 MB)
// stays byte-identical and the browser is not sent it again on every rerun.
export default function ({ data }) {
  const lab = (window.__latentLab = window.__latentLab || { states: {}, maps: {}, stats: {} });
  lab.states[data.run] = data.state;
  if (lab.maps[data.run]) lab.maps[data.run].apply(data.state);
}
