// The class geometry of tg.data.synthetic: for each class name, a builder that
// draws one random instance and returns its paint function, an inside-test in
// a local frame where the instance about fits the unit disk (SHAPE_RADIUS).
// The renderer (synthetic.ts) rotates, mirrors, scales and places that frame,
// so a class here must stay the same class under any rotation or reflection:
// there is a 'plus' but no 'x', a 'square' but no 'diamond'.
//
// A paint function answers 0 (not covered), 1 (first colour) or 2 (second
// colour). Compositions and two-tone textures use 2 for their second part.
import type { Rng } from './rng.js';

/**
 * No instance covers a point farther than this from the origin of its frame.
 * Shapes are sized for the unit disk; the margin lets polygon jitter and
 * corners stick out a little. The renderer skips pixels beyond it, so a shape
 * that broke this bound would be clipped.
 */
export const SHAPE_RADIUS = 1.1;

/** Which colour covers local point (u, v): 0 none, 1 the first, 2 the second. */
export type Paint = (u: number, v: number) => number;

/**
 * Draws one instance of a class. `imageWidth` is the image's width in local
 * units, so textures can pick periods relative to the image rather than to
 * the (randomly scaled) shape and stay resolvable at every scale.
 */
export type ShapeBuilder = (rng: Rng, imageWidth: number) => Paint;

const TAU = 2 * Math.PI;

// ---------------------------------------------------------------------------
// Primitive inside-tests. Each is built once per image, so its set-up may be
// slow, but the returned test runs for every sub-sample and must be cheap.

type Inside = (u: number, v: number) => boolean;

function disk(cx: number, cy: number, r: number): Inside {
  const r2 = r * r;
  return (u, v) => (u - cx) * (u - cx) + (v - cy) * (v - cy) < r2;
}

function ellipse(a: number, b: number): Inside {
  const ia = 1 / (a * a);
  const ib = 1 / (b * b);
  return (u, v) => u * u * ia + v * v * ib < 1;
}

/** An axis-aligned box (in the local frame) from its centre and half sizes. */
function box(cx: number, cy: number, hw: number, hh: number): Inside {
  return (u, v) => Math.abs(u - cx) < hw && Math.abs(v - cy) < hh;
}

/** A convex polygon from its vertices, counter-clockwise, as half-planes. */
function convex(vertices: number[]): Inside {
  const n = vertices.length / 2;
  const planes = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const x0 = vertices[2 * i];
    const y0 = vertices[2 * i + 1];
    const x1 = vertices[(2 * i + 2) % (2 * n)];
    const y1 = vertices[(2 * i + 3) % (2 * n)];
    // Outward normal of a counter-clockwise edge: (dy, -dx).
    const nx = y1 - y0;
    const ny = x0 - x1;
    planes[3 * i] = nx;
    planes[3 * i + 1] = ny;
    planes[3 * i + 2] = nx * x0 + ny * y0;
  }
  return (u, v) => {
    for (let i = 0; i < planes.length; i += 3) {
      if (planes[i] * u + planes[i + 1] * v > planes[i + 2]) return false;
    }
    return true;
  };
}

/**
 * Vertices of a regular n-gon of circumradius r around (cx, cy), first vertex
 * at angle `phase`, each moved by up to `jitter` so that no two instances are
 * exactly alike (small enough that the polygon stays convex and recognisable).
 */
function regularVertices(rng: Rng, n: number, r: number, jitter: number, cx = 0, cy = 0, phase = 0): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = phase + (TAU * i) / n;
    out.push(cx + r * Math.cos(a) + rng.uniform(-jitter, jitter), cy + r * Math.sin(a) + rng.uniform(-jitter, jitter));
  }
  return out;
}

/**
 * A star with `points` tips at radius `outer` and notches at radius `inner`.
 * A point is turned back into the first sector (one atan2, then a rotation
 * from a table) and mirrored into its first half, where the boundary is a
 * single straight edge from the tip to the notch.
 */
function star(points: number, outer: number, inner: number): Inside {
  const half = Math.PI / points;
  const sector = 2 * half;
  const cosK = Float64Array.from({ length: points + 1 }, (_, k) => Math.cos(-k * sector));
  const sinK = Float64Array.from({ length: points + 1 }, (_, k) => Math.sin(-k * sector));
  // The mirror line of the sector, at angle `half`.
  const mx = Math.cos(half);
  const my = Math.sin(half);
  // The edge from the tip (outer, 0) to the notch, as n·p < d with n outward.
  const notchX = inner * mx;
  const notchY = inner * my;
  let nx = notchY;
  let ny = outer - notchX;
  const len = Math.hypot(nx, ny);
  nx /= len;
  ny /= len;
  const d = nx * outer;
  const o2 = outer * outer;
  return (u, v) => {
    if (u * u + v * v >= o2) return false;
    let a = Math.atan2(v, u);
    if (a < 0) a += 2 * Math.PI;
    const k = Math.floor(a / sector);
    let x = u * cosK[k] - v * sinK[k];
    let y = u * sinK[k] + v * cosK[k];
    // Past the half-sector line: reflect across it (p' = 2(p·m)m - p).
    if (y * mx - x * my > 0) {
      const dot = 2 * (x * mx + y * my);
      x = dot * mx - x;
      y = dot * my - y;
    }
    return nx * x + ny * y < d;
  };
}

// ---------------------------------------------------------------------------
// Textures: a pattern of random period and orientation. The period is a
// fraction of the image width, so a small instance shows fewer cycles rather
// than finer ones, which a 32-pixel image could not resolve.

function patternFrame(rng: Rng, imageWidth: number, lo: number, hi: number) {
  const period = rng.uniform(lo, hi) * imageWidth;
  const angle = rng.uniform(0, TAU);
  return {
    // Rotated coordinates in periods, with a random phase.
    c: Math.cos(angle) / period,
    s: Math.sin(angle) / period,
    pa: rng.next(),
    pb: rng.next(),
  };
}

type Pattern = (u: number, v: number) => boolean;

function stripes(rng: Rng, imageWidth: number): Pattern {
  const { c, s, pa } = patternFrame(rng, imageWidth, 0.13, 0.22);
  const duty = rng.uniform(0.4, 0.6);
  return (u, v) => {
    const t = c * u + s * v + pa;
    return t - Math.floor(t) < duty;
  };
}

function checker(rng: Rng, imageWidth: number): Pattern {
  // One period is two cells, so this is about as fine as the stripes.
  const { c, s, pa, pb } = patternFrame(rng, imageWidth, 0.17, 0.27);
  return (u, v) => ((Math.floor(2 * (c * u + s * v) + pa) + Math.floor(2 * (c * v - s * u) + pb)) & 1) === 0;
}

function dots(rng: Rng, imageWidth: number): Pattern {
  const { c, s, pa, pb } = patternFrame(rng, imageWidth, 0.15, 0.24);
  const r = rng.uniform(0.25, 0.36);
  const r2 = r * r;
  return (u, v) => {
    let a = c * u + s * v + pa;
    let b = c * v - s * u + pb;
    a -= Math.floor(a) + 0.5;
    b -= Math.floor(b) + 0.5;
    return a * a + b * b < r2;
  };
}

function grid(rng: Rng, imageWidth: number): Pattern {
  const { c, s, pa, pb } = patternFrame(rng, imageWidth, 0.17, 0.26);
  const w = rng.uniform(0.22, 0.32);
  return (u, v) => {
    const a = c * u + s * v + pa;
    const b = c * v - s * u + pb;
    return a - Math.floor(a) < w || b - Math.floor(b) < w;
  };
}

/** A random smooth silhouette for a texture: an ellipse or a rounded box. */
function blob(rng: Rng): Inside {
  const aspect = rng.uniform(0.65, 1);
  if (rng.next() < 0.5) return ellipse(0.95, 0.95 * aspect);
  // A superellipse |x|^4 + |y|^4 < 1: a box with round corners.
  const ia = 1 / 0.8;
  const ib = 1 / (0.8 * aspect);
  return (u, v) => {
    const x = u * ia;
    const y = v * ib;
    const x2 = x * x;
    const y2 = y * y;
    return x2 * x2 + y2 * y2 < 1;
  };
}

/**
 * A pattern clipped to a blob. Half the instances paint the gaps in the
 * second colour, so the class is the pattern, not "a shape with holes".
 */
function textured(pattern: (rng: Rng, imageWidth: number) => Pattern): ShapeBuilder {
  return (rng, imageWidth) => {
    const inside = blob(rng);
    const on = pattern(rng, imageWidth);
    const gaps = rng.next() < 0.5 ? 2 : 0;
    return (u, v) => (inside(u, v) ? (on(u, v) ? 1 : gaps) : 0);
  };
}

/** 1 where `test` holds, else 0. */
function solid(test: Inside): Paint {
  return (u, v) => (test(u, v) ? 1 : 0);
}

/** Colour of a composition's second part: the first colour or the second, at random. */
function secondColour(rng: Rng): number {
  return rng.next() < 0.5 ? 1 : 2;
}

// ---------------------------------------------------------------------------
// The classes. Sizes are drawn from ranges wide enough to vary each class but
// narrow enough that no two classes of one task overlap.

export const SHAPES: Readonly<Record<string, ShapeBuilder>> = {
  // Source classes -----------------------------------------------------------
  circle: (rng) => solid(disk(0, 0, rng.uniform(0.8, 1))),
  square: (rng) => solid(convex(regularVertices(rng, 4, rng.uniform(0.9, 1), 0.05, 0, 0, Math.PI / 4))),
  triangle: (rng) => solid(convex(regularVertices(rng, 3, 0.92, 0.09, 0, 0.04))),
  plus: (rng) => {
    const w = rng.uniform(0.2, 0.3);
    const l = rng.uniform(0.85, 1);
    const a = box(0, 0, l, w);
    const b = box(0, 0, w, l);
    return solid((u, v) => a(u, v) || b(u, v));
  },
  star: (rng) => solid(star(5, 1, rng.uniform(0.4, 0.5))),
  hexagon: (rng) => solid(convex(regularVertices(rng, 6, rng.uniform(0.9, 1), 0.04))),
  ring: (rng) => {
    const r = rng.uniform(0.85, 1);
    const inner = disk(0, 0, r * rng.uniform(0.5, 0.7));
    const outer = disk(0, 0, r);
    return solid((u, v) => outer(u, v) && !inner(u, v));
  },
  'hollow-square': (rng) => {
    const h = rng.uniform(0.64, 0.7);
    const t = rng.uniform(0.18, 0.28);
    const outer = box(0, 0, h, h);
    const inner = box(0, 0, h - t, h - t);
    return solid((u, v) => outer(u, v) && !inner(u, v));
  },
  stripes: textured(stripes),
  checker: textured(checker),
  dots: textured(dots),
  grid: textured(grid),
  'two-circles': (rng) => {
    const r1 = rng.uniform(0.38, 0.48);
    const r2 = rng.uniform(0.38, 0.48);
    const gap = rng.uniform(0.05, 0.2);
    // Centre the pair on the origin along u.
    const span = 2 * r1 + gap + 2 * r2;
    const a = disk(-span / 2 + r1, 0, r1);
    const b = disk(span / 2 - r2, 0, r2);
    const second = secondColour(rng);
    return (u, v) => (a(u, v) ? 1 : b(u, v) ? second : 0);
  },
  bar: (rng) => solid(box(0, 0, rng.uniform(0.9, 1), rng.uniform(0.16, 0.24))),
  semicircle: (rng) => {
    // Its bounding box, 2r × r, is centred; the corners reach r·√1.25.
    const r = rng.uniform(0.85, 0.95);
    const round = disk(0, -r / 2, r);
    return solid((u, v) => v > -r / 2 && round(u, v));
  },
  bullseye: (rng) => {
    const r = rng.uniform(0.85, 1);
    const outer = disk(0, 0, r);
    const hole = disk(0, 0, r * rng.uniform(0.68, 0.78));
    const dot = disk(0, 0, r * rng.uniform(0.3, 0.42));
    const second = secondColour(rng);
    return (u, v) => (dot(u, v) ? second : outer(u, v) && !hole(u, v) ? 1 : 0);
  },
  'circle-and-triangle': (rng) => {
    const round = disk(-0.5, 0, rng.uniform(0.38, 0.46));
    // The triangle turns on its own, so the pair has no fixed relative pose.
    const tri = convex(regularVertices(rng, 3, rng.uniform(0.45, 0.52), 0.04, 0.5, 0, rng.uniform(0, TAU)));
    const second = secondColour(rng);
    return (u, v) => (round(u, v) ? 1 : tri(u, v) ? second : 0);
  },
  wave: (rng) => {
    const amp = rng.uniform(0.25, 0.4);
    const k = (TAU * rng.uniform(0.9, 1.3)) / 2;
    const phase = rng.uniform(0, TAU);
    const w = rng.uniform(0.12, 0.17);
    return (u, v) => (Math.abs(u) < 0.9 && Math.abs(v - amp * Math.sin(k * u + phase)) < w ? 1 : 0);
  },

  // Target classes -----------------------------------------------------------
  crescent: (rng) => {
    const r = rng.uniform(0.85, 1);
    const outer = disk(0, 0, r);
    const bite = disk(r * rng.uniform(0.35, 0.55), 0, r * rng.uniform(0.75, 0.9));
    return solid((u, v) => outer(u, v) && !bite(u, v));
  },
  heart: (rng) => {
    const lobe = rng.uniform(0.4, 0.46);
    const left = disk(-0.38, 0.3, lobe);
    const right = disk(0.38, 0.3, lobe);
    // Tangent-ish to both lobes, so the outline has no notch at the sides.
    const tip = convex([-0.78, 0.16, 0, rng.uniform(-0.95, -0.85), 0.78, 0.16, 0, 0.35]);
    return solid((u, v) => left(u, v) || right(u, v) || tip(u, v));
  },
  arrow: (rng) => {
    const w = rng.uniform(0.12, 0.18);
    const neck = rng.uniform(0.05, 0.25);
    const shaft = box((neck - 0.95) / 2, 0, (neck + 0.95) / 2, w);
    const head = convex([neck, -rng.uniform(0.45, 0.55), 1, 0, neck, rng.uniform(0.45, 0.55)]);
    return solid((u, v) => shaft(u, v) || head(u, v));
  },
  'l-shape': (rng) => {
    const t = rng.uniform(0.22, 0.3);
    const h = rng.uniform(0.6, 0.7);
    const foot = rng.uniform(0.55, 0.7);
    const upright = box(-h + t, 0, t, h);
    const base = box(-h + foot, -h + t, foot, t);
    return solid((u, v) => upright(u, v) || base(u, v));
  },
  't-shape': (rng) => {
    const t = rng.uniform(0.2, 0.27);
    const top = box(0, 0.7 - t, rng.uniform(0.6, 0.72), t);
    const stem = box(0, -0.15, t, 0.85 - t);
    return solid((u, v) => top(u, v) || stem(u, v));
  },
  ellipse: (rng) => solid(ellipse(rng.uniform(0.92, 1), rng.uniform(0.42, 0.58))),
  'four-point-star': (rng) => solid(star(4, 1, rng.uniform(0.3, 0.4))),
  'hollow-triangle': (rng) => {
    const vertices = regularVertices(rng, 3, 0.95, 0.06, 0, 0.04);
    const k = rng.uniform(0.42, 0.55);
    // The hole is the same triangle shrunk about its centroid.
    const gx = (vertices[0] + vertices[2] + vertices[4]) / 3;
    const gy = (vertices[1] + vertices[3] + vertices[5]) / 3;
    const outer = convex(vertices);
    const hole = convex(vertices.map((p, i) => (i % 2 === 0 ? gx + k * (p - gx) : gy + k * (p - gy))));
    return solid((u, v) => outer(u, v) && !hole(u, v));
  },
  'two-squares': (rng) => {
    const h1 = rng.uniform(0.3, 0.38);
    const h2 = rng.uniform(0.3, 0.38);
    const gap = rng.uniform(0.05, 0.2);
    const span = 2 * h1 + gap + 2 * h2;
    const shift = rng.uniform(-0.15, 0.15);
    const a = box(-span / 2 + h1, shift, h1, h1);
    const b = box(span / 2 - h2, -shift, h2, h2);
    const second = secondColour(rng);
    return (u, v) => (a(u, v) ? 1 : b(u, v) ? second : 0);
  },
  'circle-in-square': (rng) => {
    const h = rng.uniform(0.64, 0.7);
    const t = rng.uniform(0.12, 0.18);
    const outer = box(0, 0, h, h);
    const inner = box(0, 0, h - t, h - t);
    const dot = disk(0, 0, (h - t) * rng.uniform(0.5, 0.72));
    const second = secondColour(rng);
    return (u, v) => (dot(u, v) ? second : outer(u, v) && !inner(u, v) ? 1 : 0);
  },
};
