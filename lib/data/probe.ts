// Reads the size (and whether there is alpha) from JPEG, PNG and WebP headers
// in JS. The pipeline needs an image's size before it can plan its crops, and
// asking libvips costs a thread-pool round trip per image that is a sizeable
// part of decoding a small photo. Anything unusual returns undefined and the
// caller asks sharp instead, so this never has to be complete, only right.
// References: JPEG (ITU T.81, B.2), PNG (ISO 15948, 11.2), WebP container
// (RFC 9649).

export interface Probe {
  format: 'jpeg' | 'png' | 'webp';
  width: number;
  height: number;
  alpha: boolean;
}

export function probe(b: Uint8Array): Probe | undefined {
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpeg(b);
  if (b.length >= 33 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return png(b);
  if (b.length >= 30 && tag(b, 0) === 'RIFF' && tag(b, 8) === 'WEBP') return webp(b);
  return undefined;
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const u24le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const tag = (b: Uint8Array, i: number) => String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]);

function sized(format: Probe['format'], width: number, height: number, alpha: boolean): Probe | undefined {
  return width > 0 && height > 0 ? { format, width, height, alpha } : undefined;
}

function jpeg(b: Uint8Array): Probe | undefined {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1];
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): the frame header.
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return sized('jpeg', u16be(b, i + 7), u16be(b, i + 5), false);
    }
    if (m === 0xda || m === 0xd9) return undefined; // scan or end before a frame header
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      i += 2;
      continue;
    }
    i += 2 + u16be(b, i + 2);
  }
  return undefined;
}

function png(b: Uint8Array): Probe | undefined {
  if (b[4] !== 0x0d || b[5] !== 0x0a || b[6] !== 0x1a || b[7] !== 0x0a || tag(b, 12) !== 'IHDR') return undefined;
  const colorType = b[25];
  let alpha = colorType === 4 || colorType === 6;
  // A tRNS chunk, which must precede the image data, adds alpha to any type.
  for (let i = 8; i + 8 <= b.length; ) {
    const type = tag(b, i + 4);
    if (type === 'IDAT' || type === 'IEND') return sized('png', u32be(b, 16), u32be(b, 20), alpha);
    if (type === 'tRNS') alpha = true;
    i += 12 + u32be(b, i);
  }
  return undefined;
}

function webp(b: Uint8Array): Probe | undefined {
  const chunk = tag(b, 12);
  if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) return undefined;
    return sized('webp', (b[26] | (b[27] << 8)) & 0x3fff, (b[28] | (b[29] << 8)) & 0x3fff, false);
  }
  if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) return undefined;
    const bits = (b[21] | (b[22] << 8) | (b[23] << 16) | (b[24] << 24)) >>> 0;
    return sized('webp', (bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1, ((bits >>> 28) & 1) === 1);
  }
  if (chunk === 'VP8X') {
    const flags = b[20];
    if (flags & 0x02) return undefined; // animation: let libvips decide
    return sized('webp', u24le(b, 24) + 1, u24le(b, 27) + 1, (flags & 0x10) !== 0);
  }
  return undefined;
}
