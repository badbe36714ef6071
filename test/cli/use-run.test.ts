// eval, predict and export as a user runs them: bad input (an unknown folder, a folder that is not a
// run, a missing or damaged checkpoint, a file that is not an image, a model the format cannot
// represent, an --out in the way) is one paragraph and exit 2; and nothing in the run folder changes
// but the commands' own output folders (files, sizes and modification times compared).
import {before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {resolveSpec} from '../../src/config/resolve.js'
import {mixture, tempDir, writeSpec} from '../helpers.js'
import {makeRun, PAPER_ARCHITECTURES, pixels} from '../export/helpers.js'
import sharp from 'sharp'

/** Every file under `dir` but the commands' own output folders, with size and modification time. */
function snapshot(dir: string): string[] {
  return readdirSync(dir, {recursive: true, withFileTypes: true})
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !/^(eval|export)\//.test(relative(dir, f)))
    .map((f) => {
      const s = statSync(f)
      return `${relative(dir, f)} ${s.size} ${s.mtimeMs}`
    })
    .sort()
}

/** Exit 2 and one paragraph on stderr matching `pattern`. */
function refused(args: string[], pattern: RegExp): void {
  const r = mixture(args)
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`)
  const message = r.stderr.trim()
  assert.match(message, pattern)
  assert.ok(!/\n\s+at /.test(message), 'no stack trace')
}

const CUBE_PLUGIN = `export default function (mm) {
  class Cube extends mm.tfl.layers.Layer {
    static className = 'PluginCube'
    call(x) { const t = Array.isArray(x) ? x[0] : x; return mm.tf.mul(t, mm.tf.mul(t, t)) }
  }
  mm.tf.serialization.registerClass(Cube)
  mm.registerComponent({
    name: 'cube', summary: 'x³ per pixel', output: 'image',
    schema: {type: 'object', additionalProperties: false, properties: {}},
    create: (ctx, x) => new Cube({name: ctx.name('cube')}).apply(x),
  })
}
`

describe('eval, predict and export on a run folder', () => {
  let dir: string
  let run: string
  let image: string

  before(async () => {
    dir = tempDir()
    run = await makeRun(dir, 'run', PAPER_ARCHITECTURES['alternating-vit-2block'])
    // A metrics.csv as training leaves it, so that eval has a row to compare with.
    writeFileSync(join(run, 'metrics.csv'), 'epoch,train_loss,train_accuracy,test_loss,test_accuracy,train_seconds,eval_seconds,data_seconds,images_per_second\n1,1,0.5,1,0.5,1.000,1.000,0.000,10.0\n')
    image = join(dir, 'image.png')
    await sharp(pixels(8, 8, 2), {raw: {width: 8, height: 8, channels: 3}}).png().toFile(image)
  })

  it('change nothing in the run folder but eval/ and export/', () => {
    const before = snapshot(run)
    for (const args of [
      ['eval', run],
      ['eval', run, '--split', 'train', '--json'],
      ['predict', run, image],
      ['export', run, '--format', 'tfjs'],
      ['export', run, '--format', 'safetensors'],
      ['export', run, '--format', 'safetensors'],
    ]) {
      const r = mixture(args)
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    }
    assert.deepEqual(snapshot(run), before)
    assert.deepEqual(readdirSync(join(run, 'eval')).sort(), ['test-best', 'train-best'])
    assert.deepEqual(readdirSync(join(run, 'export')).sort(), ['safetensors-best', 'tfjs-best'], 'a repeated export replaces its folder; no temp folders are left')
  })

  it('refuse an unknown folder or one that is not a run', () => {
    for (const cmd of [['eval'], ['predict'], ['export', '--format', 'tfjs']]) {
      const [name, ...flags] = cmd
      refused([name, join(dir, 'nope'), ...(name === 'predict' ? [image] : []), ...flags], /nope does not exist: give a run folder/)
      refused([name, dir, ...(name === 'predict' ? [image] : []), ...flags], /is not a run folder: it has no config\.yaml/)
    }
  })

  it('refuse a missing checkpoint, naming the other one, and a damaged one, changing nothing', () => {
    const copy = join(dir, 'copy')
    cpSync(run, copy, {recursive: true})
    rmSync(join(copy, 'eval'), {recursive: true, force: true})
    rmSync(join(copy, 'export'), {recursive: true, force: true})
    refused(['eval', copy, '--ckpt', 'last'], /has no last\.ckpt: use --ckpt best/)
    const bytes = readFileSync(join(copy, 'best.ckpt'))
    bytes[bytes.length - 5] ^= 0xff
    writeFileSync(join(copy, 'best.ckpt'), bytes)
    const before = snapshot(copy)
    refused(['eval', copy], /best\.ckpt is corrupt: checksum mismatch/)
    refused(['predict', copy, image], /best\.ckpt is corrupt/)
    refused(['export', copy, '--format', 'safetensors'], /best\.ckpt is corrupt/)
    assert.deepEqual(snapshot(copy), before)
    assert.deepEqual(readdirSync(copy).filter((f) => f === 'eval' || f === 'export'), [], 'no output folder for a refused command')
  })

  it('refuse a file that is not an image, and an --out that would replace other files', () => {
    const fake = join(dir, 'notes.png')
    writeFileSync(fake, 'these are notes, not pixels')
    refused(['predict', run, image, fake], /Cannot decode image .*notes\.png.*give image files.*--skip-bad leaves out every file that cannot be read/)
    refused(['export', run, '--format', 'tfjs', '--out', run], /is the run folder or a folder above it/)
    refused(['export', run, '--format', 'tfjs', '--out', dir], /is the run folder or a folder above it/)
    const other = join(dir, 'other')
    cpSync(join(run, 'config.yaml'), join(other, 'config.yaml'), {recursive: true})
    refused(['export', run, '--format', 'tfjs', '--out', other], /holds other files \(config\.yaml\) and no export\.json/)
  })

  it("refuse a tfjs export of a model with a plugin layer that has no stock-op form; its safetensors keep the project's names", async () => {
    const plugin = join(dir, 'cube.mjs')
    writeFileSync(plugin, CUBE_PLUGIN)
    const specFile = writeSpec({name: 'cube', plugins: [plugin], data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 8, test: 8, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [2, 3]}, {type: 'cube'}]}}, dir, 'cube.yaml')
    const {spec} = await resolveSpec(specFile)
    const cube = await makeRun(dir, 'cube-run', spec)
    refused(['export', cube, '--format', 'tfjs'], /no stock-op form is known for the layer class PluginCube \(1 layer, e\.g\. block1_cube_cube\)/)
    const r = mixture(['export', cube, '--format', 'safetensors'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /no PyTorch counterpart \(its components are cnn\+cube/)
    assert.match(r.stdout, /the project's own names/)
  })
})
