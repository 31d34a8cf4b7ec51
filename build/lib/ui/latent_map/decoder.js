// The decoder's math, with no DOM: unpack the weights the page sent, and decode a latent point
// into 784 pixel intensities exactly as vae/numpy_model.py does (so a test can compare the two).
// Layers: Dense, Reshape, Flatten, Conv2DTranspose (channels last, "same" padding), with relu,
// sigmoid or linear activations.

export function unpackModel(spec, weights) {
  // spec.layers[i]: {kind, activation, shapes: [[...], [...]], offsets: [kernel, bias], strides, padding, target_shape}
  const layers = spec.layers.map((layer) => {
    const arrays = (layer.shapes || []).map((shape, i) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return weights.subarray(layer.offsets[i], layer.offsets[i] + size);
    });
    const unpacked = { ...layer, arrays };
    if (layer.kind === "Conv2DTranspose") unpacked.rows = kernelRows(arrays[0], layer.shapes[0]);
    return unpacked;
  });
  return { inputDim: spec.input_dim, layers, scratch: new Map() };
}

function activate(values, activation) {
  if (activation === "relu") {
    for (let i = 0; i < values.length; i++) if (values[i] < 0) values[i] = 0;
  } else if (activation === "sigmoid") {
    for (let i = 0; i < values.length; i++) values[i] = 1 / (1 + Math.exp(-values[i]));
  }
  return values;
}

function dense(input, layer, out) {
  const [kernel, bias] = layer.arrays;
  const [inputs, outputs] = layer.shapes[0];
  out.set(bias);
  for (let i = 0; i < inputs; i++) {
    const value = input[i];
    if (value === 0) continue; // a unit relu switched off adds nothing: skip its row
    const row = i * outputs;
    for (let j = 0; j < outputs; j++) out[j] += value * kernel[row + j];
  }
  return out;
}

function sameBefore(size, kernel, stride) {
  const out = Math.ceil(size / stride);
  return Math.floor(Math.max((out - 1) * stride + kernel - size, 0) / 2);
}

// A transposed convolution's kernel (kh, kw, cout, cin) laid out once as cin rows of kh*kw*cout:
// row c holds every output value one unit of input channel c adds around its pixel, contiguous,
// so a decode is one matrix product (pixels x cin) . (cin x kh*kw*cout) read straight through.
function kernelRows(kernel, [kh, kw, cout, cin]) {
  const width = kh * kw * cout;
  const rows = new Float32Array(cin * width);
  for (let t = 0; t < kh * kw; t++) {
    for (let o = 0; o < cout; o++) {
      for (let c = 0; c < cin; c++) rows[c * width + t * cout + o] = kernel[(t * cout + o) * cin + c];
    }
  }
  return rows;
}

function conv2dTranspose(input, shape, layer, out, patch) {
  // input (h, w, cin) flattened; output (h*s, w*s, cout) for "same". Each input pixel's patch
  // (its row of the matrix product) is then added into the output where it lands.
  const [, bias] = layer.arrays;
  const [kh, kw, cout, cin] = layer.shapes[0];
  const [sh, sw] = layer.strides;
  const [h, w] = shape;
  const width = kh * kw * cout;
  const rows = layer.rows;
  const outH = layer.padding === "same" ? h * sh : (h - 1) * sh + kh;
  const outW = layer.padding === "same" ? w * sw : (w - 1) * sw + kw;
  const top = layer.padding === "same" ? sameBefore(outH, kh, sh) : 0;
  const left = layer.padding === "same" ? sameBefore(outW, kw, sw) : 0;
  for (let i = 0; i < outH * outW; i++) out.set(bias, i * cout);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const base = (y * w + x) * cin;
      patch.fill(0);
      let any = false;
      for (let c = 0; c < cin; c++) {
        const value = input[base + c];
        if (value === 0) continue; // a unit relu switched off adds nothing: skip its row
        any = true;
        const row = c * width;
        for (let t = 0; t < width; t++) patch[t] += value * rows[row + t];
      }
      if (!any) continue;
      for (let i = 0; i < kh; i++) {
        const oy = y * sh + i - top;
        if (oy < 0 || oy >= outH) continue;
        for (let j = 0; j < kw; j++) {
          const ox = x * sw + j - left;
          if (ox < 0 || ox >= outW) continue;
          const target = (oy * outW + ox) * cout;
          const tap = (i * kw + j) * cout;
          for (let o = 0; o < cout; o++) out[target + o] += patch[tap + o];
        }
      }
    }
  }
  return { values: out, shape: [outH, outW, cout] };
}

function buffer(model, index, size) {
  let array = model.scratch.get(index);
  if (!array || array.length !== size) {
    array = new Float32Array(size);
    model.scratch.set(index, array);
  }
  return array;
}

// Decode one latent point (an array of inputDim numbers). Returns a Float32Array of 784 values
// in [0, 1], owned by the model (copy it to keep it past the next call).
export function decode(model, z) {
  let values = Float32Array.from(z);
  let shape = [values.length];
  model.layers.forEach((layer, index) => {
    if (layer.kind === "Dense") {
      values = activate(dense(values, layer, buffer(model, index, layer.shapes[0][1])), layer.activation);
      shape = [values.length];
    } else if (layer.kind === "Reshape") {
      shape = layer.target_shape;
    } else if (layer.kind === "Flatten") {
      shape = [values.length];
    } else {
      const [kh, kw, cout] = layer.shapes[0];
      const [sh, sw] = layer.strides;
      const size = (layer.padding === "same" ? shape[0] * sh * shape[1] * sw
        : ((shape[0] - 1) * sh + kh) * ((shape[1] - 1) * sw + kw)) * cout;
      const patch = buffer(model, `patch-${index}`, kh * kw * cout);
      const result = conv2dTranspose(values, shape, layer, buffer(model, index, size), patch);
      values = activate(result.values, layer.activation);
      shape = result.shape;
    }
  });
  return values;
}

// The point of the map plane (x, y) as a full latent vector: mean + x * c1 + y * c2.
export function planeToLatent(view, x, y) {
  return view.mean.map((m, i) => m + x * view.components[0][i] + y * view.components[1][i]);
}

// A full latent vector projected onto the map plane.
export function latentToPlane(view, z) {
  const centred = z.map((value, i) => value - view.mean[i]);
  return [0, 1].map((k) => centred.reduce((sum, value, i) => sum + value * view.components[k][i], 0));
}
