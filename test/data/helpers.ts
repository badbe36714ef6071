/** Writers for the official dataset formats (tiny files for tests), temp-dir helpers, and scripted random draws. */
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {gzipSync} from 'node:zlib'
// The readers under test are registry entries: register the built-ins, as the CLI does.
import '../../src/builtins.js'
import type {RandomSource} from '../../src/registry/registry.js'

/** A fresh temp dir; also points the user cache and MIXTURE_DATA away from the real ones. */
export function isolatedTmp(prefix = 'mixture-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  process.env.XDG_CACHE_HOME = join(dir, 'xdg-cache')
  delete process.env.MIXTURE_DATA
  delete process.env.MIXTURE_DATA_MIRROR
  return dir
}

export function rmrf(dir: string): void {
  rmSync(dir, {recursive: true, force: true})
}

export function write(path: string, data: Uint8Array): string {
  mkdirSync(dirname(path), {recursive: true})
  writeFileSync(path, data)
  return path
}

/** Pixel value of CIFAR test image i, pixel p (row-major 0..1023), channel c. */
export function cifarPixel(i: number, p: number, c: number): number {
  return (i * 7 + p * 3 + c * 50) & 255
}

/** A CIFAR binary file: records [label bytes..., R plane, G plane, B plane]. */
export function cifarFile(labels: number[][], first = 0): Uint8Array {
  const lb = labels[0]?.length ?? 1
  const rec = lb + 3072
  const out = new Uint8Array(labels.length * rec)
  labels.forEach((l, i) => {
    const base = i * rec
    l.forEach((v, k) => (out[base + k] = v))
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[base + lb + c * 1024 + p] = cifarPixel(first + i, p, c)
  })
  return out
}

/** STL-10 test pattern: image n, channel c, row, col. */
export function stlPixel(n: number, c: number, row: number, col: number): number {
  return (n * 31 + c * 85 + row * 3 + col * 5) & 255
}

/** STL-10 X file: per image 3 planes of 96×96, each column-major (index col*96 + row). */
export function stlX(count: number): Uint8Array {
  const out = new Uint8Array(count * 27648)
  for (let n = 0; n < count; n++)
    for (let c = 0; c < 3; c++)
      for (let col = 0; col < 96; col++)
        for (let row = 0; row < 96; row++) out[n * 27648 + c * 9216 + col * 96 + row] = stlPixel(n, c, row, col)
  return out
}

/** IDX file of unsigned bytes: big-endian magic (0x0000 08 ndims) and dims, then data. */
export function idxFile(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length)
  const v = new DataView(header.buffer)
  v.setUint32(0, 0x0800 + dims.length, false)
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false))
  const out = new Uint8Array(header.length + data.length)
  out.set(header)
  out.set(data, header.length)
  return out
}

export function mnistPixel(n: number, row: number, col: number): number {
  return (n * 13 + row * 9 + col) & 255
}

export function mnistImages(count: number, size = 28): Uint8Array {
  const data = new Uint8Array(count * size * size)
  for (let n = 0; n < count; n++) for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) data[(n * size + r) * size + c] = mnistPixel(n, r, c)
  return idxFile([count, size, size], data)
}

/** Writes an MNIST-style folder (gzip'd by default). */
export function writeIdxDataset(dir: string, train: number[], test: number[], gz = true): void {
  const z = (d: Uint8Array) => (gz ? new Uint8Array(gzipSync(d)) : d)
  const sfx = gz ? '.gz' : ''
  write(join(dir, `train-images-idx3-ubyte${sfx}`), z(mnistImages(train.length)))
  write(join(dir, `train-labels-idx1-ubyte${sfx}`), z(idxFile([train.length], Uint8Array.from(train))))
  write(join(dir, `t10k-images-idx3-ubyte${sfx}`), z(mnistImages(test.length)))
  write(join(dir, `t10k-labels-idx1-ubyte${sfx}`), z(idxFile([test.length], Uint8Array.from(test))))
}

/** Minimal ustar writer (regular files and directories), for archive tests. */
export function tarArchive(entries: Array<{name: string; data?: Uint8Array; type?: '0' | '5' | 'L'; prefix?: string}>): Uint8Array {
  const blocks: Uint8Array[] = []
  for (const e of entries) {
    const h = new Uint8Array(512)
    const enc = new TextEncoder()
    const put = (s: string, off: number, len: number) => h.set(enc.encode(s).subarray(0, len), off)
    const size = e.data?.length ?? 0
    put(e.name, 0, 100)
    put('0000644\0', 100, 8)
    put('0000000\0', 108, 8)
    put('0000000\0', 116, 8)
    put(size.toString(8).padStart(11, '0') + '\0', 124, 12)
    put('00000000000\0', 136, 12)
    put('        ', 148, 8)
    put(e.type ?? '0', 156, 1)
    put('ustar\0', 257, 6)
    put('00', 263, 2)
    if (e.prefix) put(e.prefix, 345, 155)
    let sum = 0
    for (const b of h) sum += b
    put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
    blocks.push(h)
    if (e.data && size > 0) {
      const padded = new Uint8Array(Math.ceil(size / 512) * 512)
      padded.set(e.data)
      blocks.push(padded)
    }
  }
  blocks.push(new Uint8Array(1024))
  const total = blocks.reduce((a, b) => a + b.length, 0)
  const out = new Uint8Array(total)
  let o = 0
  for (const b of blocks) {
    out.set(b, o)
    o += b.length
  }
  return out
}

/** Writes an H×W image (uint8, `channels` 1 or 3, row-major) as a PNG file. */
export async function writePng(path: string, pixels: Uint8Array, width: number, height: number, channels: 1 | 3 = 3): Promise<string> {
  const {default: sharp} = await import('sharp')
  mkdirSync(dirname(path), {recursive: true})
  await sharp(pixels, {raw: {width, height, channels}}).png().toFile(path)
  return path
}

/** Pixel (x, y, c) of test image n of class k: distinct per image, class-dependent. */
export function folderPixel(k: number, n: number, x: number, y: number, c: number): number {
  return (k * 80 + n * 7 + x * 5 + y * 3 + c * 40) & 255
}

/**
 * An image folder: `split/class_k/img_n.png` for each split and its counts per class, S×S RGB
 * images with pixels `folderPixel`. Returns the root.
 */
export async function writeImageFolder(root: string, counts: Record<string, number[]>, size = 6): Promise<string> {
  for (const [split, perClass] of Object.entries(counts)) {
    for (const [k, n] of perClass.entries()) {
      for (let i = 0; i < n; i++) {
        const px = new Uint8Array(size * size * 3)
        for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) px[(y * size + x) * 3 + c] = folderPixel(k, i, x, y, c)
        await writePng(join(root, split, `class_${k}`, `img_${i}.png`), px, size, size)
      }
    }
  }
  return root
}

/**
 * A generator that gives `values` in order, float() as they are and int(n) as ⌊u·n⌋ (as Rng and the
 * draw tape derive it, and as the fixture generators' scripted torch draws: test/fixtures/transforms);
 * `left()` says how many remain.
 */
export function uniforms(values: number[]): RandomSource & {left(): number} {
  const rest = [...values]
  const next = () => {
    const v = rest.shift()
    assert.ok(v !== undefined, `drew more than the ${values.length} numbers torchvision drew`)
    return v
  }
  return {float: next, int: (n) => Math.floor(next() * n), left: () => rest.length}
}
