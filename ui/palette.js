// The ten class colours, told apart under colour-vision deficiencies (vae/palette.py), as vae/plots.py's
// DIGIT_COLOURS: a test keeps them equal.
export const DIGIT_COLOURS = ["#0b4f9c", "#ff5a0f", "#b48787", "#8700f0", "#963c1e",
                              "#3c96ff", "#8787b4", "#694b5a", "#d2785a", "#f000e1"];
