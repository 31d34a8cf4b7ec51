// The ten digit colours (plotly's D3 palette, as vae/plots.py's DIGIT_COLOURS: a test keeps them equal).
export const DIGIT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
