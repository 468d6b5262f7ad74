/**
 * Compact binary encoding of stored artifacts (a model bundle, or a bare model artifact). A 40-tree
 * forest was 3.3 MB of JSON: every node index, bin and leaf value spelled out in decimal. Here the
 * JSON-shaped value is split in two: a small JSON header that keeps the structure (tags, params, feature
 * names, clip bounds) with every numeric array replaced by a reference, and the arrays themselves as
 * typed-array sections, each in the narrowest type that holds its values exactly (u8 bins, i32 child
 * references, f64 leaf values), the whole deflated.
 *
 * Layout (little-endian):
 *   0  4 bytes  magic "RSMA"
 *   4  u16      format version (CODEC_VERSION)
 *   6  u8       flags (bit 0: payload deflated)
 *   7  u8       reserved (0)
 *   8  u32      payload length before compression
 *   12 ...      payload: u32 header length, header JSON (UTF-8), then the sections, each 8-byte aligned
 *
 * Decoding gives back plain JSON values (number arrays), so each family's fromJSON validates a decoded
 * artifact exactly as it validates a JSON one: the codec changes the bytes, never the checks. A buffer
 * that is not this format, or a version this build does not know, fails with ArtifactCodecError
 * (code MODEL_FORMAT, like every other unusable artifact).
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { ModelFormatError } from './model.ts';

export const CODEC_MAGIC = 'RSMA';
export const CODEC_VERSION = 1;
const HEADER_BYTES = 12;
/** Refuse to inflate beyond this: a corrupt length must not allocate gigabytes. */
const MAX_PAYLOAD = 512 * 1024 * 1024;

export class ArtifactCodecError extends ModelFormatError {}

type SectionType = 'u8' | 'i8' | 'u16' | 'i16' | 'i32' | 'f32' | 'f64';

const CTORS = {
  u8: Uint8Array,
  i8: Int8Array,
  u16: Uint16Array,
  i16: Int16Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;

interface SectionRef {
  /** Index of the section; `t` its element type, `n` its length. */
  $a: number;
  t: SectionType;
  n: number;
}

/** JSON stores non-finite floats as strings ('Infinity'); a section stores them as numbers. */
function asNumber(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (v === 'Infinity' || v === '-Infinity' || v === 'NaN') return Number(v);
  return null;
}

/** The narrowest type holding every value exactly, or null when `a` is not a numeric array. */
function sectionTypeOf(a: ArrayLike<unknown>): SectionType | null {
  if (a.length === 0) return null;
  let min = Infinity;
  let max = -Infinity;
  let integer = true;
  let f32 = true;
  let hadString = false;
  for (let i = 0; i < a.length; i++) {
    const raw = a[i];
    const v = asNumber(raw);
    if (v === null) return null;
    if (typeof raw === 'string') hadString = true;
    if (integer && !Number.isInteger(v)) integer = false;
    if (f32 && Math.fround(v) !== v && v === v) f32 = false;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // An array that had a string entry goes back as numbers; fine for the float decoders, which take both.
  if (integer && !hadString) {
    if (min >= 0 && max <= 0xff) return 'u8';
    if (min >= -0x80 && max <= 0x7f) return 'i8';
    if (min >= 0 && max <= 0xffff) return 'u16';
    if (min >= -0x8000 && max <= 0x7fff) return 'i16';
    if (min >= -0x80000000 && max <= 0x7fffffff) return 'i32';
  }
  return f32 ? 'f32' : 'f64';
}

/** Encodes a JSON-shaped value (numeric arrays and typed arrays become sections). */
export function encodeArtifactValue(value: unknown, options: { deflate?: boolean } = {}): Uint8Array {
  const sections: { type: SectionType; data: ArrayLike<number> }[] = [];
  const walk = (v: unknown): unknown => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as unknown as ArrayLike<number>;
      const type = sectionTypeOf(a);
      if (type === null) return [];
      sections.push({ type, data: a });
      return { $a: sections.length - 1, t: type, n: a.length } satisfies SectionRef;
    }
    if (Array.isArray(v)) {
      const type = v.length >= 8 ? sectionTypeOf(v) : null;
      if (type !== null) {
        sections.push({ type, data: v.map((x) => asNumber(x)!) });
        return { $a: sections.length - 1, t: type, n: v.length } satisfies SectionRef;
      }
      return v.map(walk);
    }
    if (typeof v === 'object' && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (x !== undefined) out[k] = walk(x);
      }
      return out;
    }
    return v;
  };
  const header = new TextEncoder().encode(JSON.stringify(walk(value)));
  let size = 4 + header.length;
  const offsets: number[] = [];
  for (const s of sections) {
    size = Math.ceil(size / 8) * 8;
    offsets.push(size);
    size += s.data.length * CTORS[s.type].BYTES_PER_ELEMENT;
  }
  const payload = new Uint8Array(size);
  new DataView(payload.buffer).setUint32(0, header.length, true);
  payload.set(header, 4);
  sections.forEach((s, i) => {
    const view = new CTORS[s.type](payload.buffer, offsets[i]!, s.data.length);
    for (let j = 0; j < s.data.length; j++) view[j] = s.data[j]!;
  });
  const deflate = options.deflate ?? true;
  const body = deflate ? deflateRawSync(payload, { level: 6 }) : payload;
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = CODEC_MAGIC.charCodeAt(i);
  dv.setUint16(4, CODEC_VERSION, true);
  out[6] = deflate ? 1 : 0;
  out[7] = 0;
  dv.setUint32(8, payload.length, true);
  out.set(body, HEADER_BYTES);
  return out;
}

/** True when the bytes start with the codec's magic (a JSON artifact starts with '{'). */
export function isEncodedArtifact(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  for (let i = 0; i < 4; i++) if (bytes[i] !== CODEC_MAGIC.charCodeAt(i)) return false;
  return true;
}

/** Decodes what encodeArtifactValue wrote; numeric sections come back as plain number arrays. */
export function decodeArtifactValue(bytes: Uint8Array): unknown {
  if (!isEncodedArtifact(bytes))
    throw new ArtifactCodecError('artifact is not in the binary format (bad magic)');
  if (bytes.length < HEADER_BYTES) throw new ArtifactCodecError('binary artifact is truncated');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (version !== CODEC_VERSION) {
    throw new ArtifactCodecError(
      `binary artifact has codec version ${version}, this build reads ${CODEC_VERSION}`,
    );
  }
  const flags = bytes[6]!;
  if ((flags & ~1) !== 0 || bytes[7] !== 0)
    throw new ArtifactCodecError(`binary artifact has unknown flags ${flags}`);
  const length = dv.getUint32(8, true);
  if (length > MAX_PAYLOAD) throw new ArtifactCodecError(`binary artifact claims ${length} bytes`);
  let payload: Uint8Array;
  try {
    const body = bytes.subarray(HEADER_BYTES);
    payload =
      flags & 1 ? new Uint8Array(inflateRawSync(body, { maxOutputLength: MAX_PAYLOAD })) : body.slice();
  } catch (err) {
    throw new ArtifactCodecError(`binary artifact does not inflate: ${(err as Error).message}`);
  }
  if (payload.length !== length || length < 4) {
    throw new ArtifactCodecError(`binary artifact payload is ${payload.length} bytes, header says ${length}`);
  }
  const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const headerLength = pv.getUint32(0, true);
  if (4 + headerLength > length) throw new ArtifactCodecError('binary artifact header overruns the payload');
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(4, 4 + headerLength)),
    );
  } catch (err) {
    throw new ArtifactCodecError(`binary artifact header is not JSON: ${(err as Error).message}`);
  }
  // Sections follow in index order, each 8-byte aligned, exactly as the encoder lays them out.
  const refs: SectionRef[] = [];
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (typeof v === 'object' && v !== null) {
      if (isSectionRef(v)) refs.push(v);
      else Object.values(v).forEach(collect);
    }
  };
  collect(header);
  refs.sort((a, b) => a.$a - b.$a);
  const arrays: number[][] = [];
  let at = 4 + headerLength;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    if (ref.$a !== i) throw new ArtifactCodecError('binary artifact sections are not numbered 0..n-1');
    const Ctor = CTORS[ref.t];
    at = Math.ceil(at / 8) * 8;
    const end = at + ref.n * Ctor.BYTES_PER_ELEMENT;
    if (end > length) throw new ArtifactCodecError(`binary artifact section ${i} overruns the payload`);
    arrays.push(Array.from(new Ctor(payload.buffer as ArrayBuffer, payload.byteOffset + at, ref.n)));
    at = end;
  }
  const rebuild = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rebuild);
    if (typeof v === 'object' && v !== null) {
      if (isSectionRef(v)) return arrays[v.$a]!;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = rebuild(x);
      return out;
    }
    return v;
  };
  return rebuild(header);
}

function isSectionRef(v: object): v is SectionRef {
  const r = v as Partial<SectionRef>;
  return (
    typeof r.$a === 'number' &&
    Number.isInteger(r.$a) &&
    r.$a >= 0 &&
    typeof r.t === 'string' &&
    Object.hasOwn(CTORS, r.t) &&
    typeof r.n === 'number' &&
    Number.isInteger(r.n) &&
    r.n >= 0 &&
    Object.keys(v).length === 3
  );
}

/** Prefix of a binary artifact stored in a ClickHouse String column (base64 keeps the column valid text). */
export const STORED_BINARY_PREFIX = 'rsma:';

/** Text for the registry's artifact column. */
export function artifactToStoredText(value: unknown): string {
  return STORED_BINARY_PREFIX + Buffer.from(encodeArtifactValue(value)).toString('base64');
}

/** Reads the registry's artifact column: the binary format, or the JSON every older version stored. */
export function artifactFromStoredText(text: string): unknown {
  if (text.startsWith(STORED_BINARY_PREFIX)) {
    const bytes = Buffer.from(text.slice(STORED_BINARY_PREFIX.length), 'base64');
    return decodeArtifactValue(bytes);
  }
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new ArtifactCodecError(`stored artifact is not valid JSON: ${(err as Error).message}`);
    }
  }
  throw new ArtifactCodecError('stored artifact is neither the binary format nor JSON');
}
