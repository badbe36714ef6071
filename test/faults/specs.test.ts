// Hostile specs: huge, endless, aliased, overflowing, or not specs at all. Each is refused with exit
// 2 and a file:line where there is one, echoing nothing of a file that is not a spec. Time bounds:
// every command must end within HANG_MS (a hang, such as reading /dev/zero, never does), and the
// work on a large spec must grow linearly with its size, measured in this process.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {loadSpec} from '../../src/config/load.js'
import {SpecError} from '../../src/config/errors.js'
import {validateSpec} from '../../src/config/validate.js'
import {mixture, resolveObject, tempDir, writeSpec} from '../helpers.js'

const SPEC_YAML = 'name: tiny\ndata: {dataset: synthetic, image_size: 8}\nmodel: {type: mixture, components: [{type: cnn, channels: [3]}]}\n'
/** Far more than any refusal here takes, even on a loaded machine; far less than a hang. */
const HANG_MS = 30_000

function refused(r: ReturnType<typeof mixture>, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, message)
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace')
  assert.ok(r.ms < HANG_MS, `took ${Math.round(r.ms)} ms`)
}

const keys = (n: number) => Array.from({length: n}, (_, i) => `key_${i}: ${i}`).join('\n')

/** Milliseconds to load and validate a spec with `n` unknown keys, in this process. */
function validationMs(n: number): number {
  const file = writeSpec(`${SPEC_YAML}${keys(n)}\n`)
  const t0 = performance.now()
  assert.throws(() => validateSpec(loadSpec(file)), (e: unknown) => e instanceof SpecError && e.problems.length === n)
  return performance.now() - t0
}

test('20,000 keys: at most 50 problems printed; 4 times the keys take about 4 times as long, not 16', () => {
  const r = mixture(['validate', writeSpec(`${SPEC_YAML}${keys(20_000)}\n`)])
  refused(r, /invalid spec .* \(20000 problems\):/)
  assert.match(r.stderr, /key_0: unknown key/)
  assert.match(r.stderr, /… and 19950 more/)
  assert.ok(r.stderr.split('\n').length < 60, `${r.stderr.split('\n').length} lines`)
  const dup = mixture(['validate', writeSpec(`${SPEC_YAML}${keys(20_000)}\n${keys(20_000)}\n`)])
  refused(dup, /:20004:1: key_0: YAML syntax error: duplicate key, first at line 4/)

  resolveObject({name: 'warm', data: {dataset: 'synthetic'}, model: {type: 'cnn_classifier'}})
  const saved = process.env.MIXTURE_MAX_SPEC_BYTES
  process.env.MIXTURE_MAX_SPEC_BYTES = String(8 * 2 ** 20)
  try {
    const small = Math.min(validationMs(10_000), validationMs(10_000))
    const large = Math.min(validationMs(40_000), validationMs(40_000))
    assert.ok(large < 8 * small, `10,000 keys: ${small.toFixed(0)} ms, 40,000 keys: ${large.toFixed(0)} ms (linear: about 4 times)`)
  } finally {
    if (saved === undefined) delete process.env.MIXTURE_MAX_SPEC_BYTES
    else process.env.MIXTURE_MAX_SPEC_BYTES = saved
  }
})

test('a spec over the size limit is refused before it is read; MIXTURE_MAX_SPEC_BYTES raises the limit', () => {
  const file = writeSpec(`${SPEC_YAML}${'#'.repeat(2 ** 20)}\n`)
  refused(mixture(['validate', file]), /is 1048\d{3} bytes, more than a spec may be \(1048576 bytes\)/)
  assert.equal(mixture(['validate', file], {env: {MIXTURE_MAX_SPEC_BYTES: String(2 * 2 ** 20)}}).code, 0)
})

test('extends: /dev/zero, a FIFO or a directory is refused before anything is read from it', () => {
  const dir = tempDir()
  refused(mixture(['validate', writeSpec(`extends: /dev/zero\n${SPEC_YAML}`, dir)]), /spec\.yaml:1:1: extends: base spec \/dev\/zero is a device, not a YAML file/)
  spawnSync('mkfifo', [join(dir, 'pipe.yaml')])
  refused(mixture(['validate', writeSpec(`extends: pipe.yaml\n${SPEC_YAML}`, dir, 'b.yaml')]), /base spec .*pipe\.yaml is a FIFO \(named pipe\), not a YAML file/)
  refused(mixture(['validate', join(dir, 'pipe.yaml')]), /pipe\.yaml: is a FIFO/)
  mkdirSync(join(dir, 'folder.yaml'))
  refused(mixture(['validate', join(dir, 'folder.yaml')]), /is a directory, not a YAML file/)
  writeFileSync(join(dir, 'dev.mjs'), '')
  refused(mixture(['validate', writeSpec(`plugins: [/dev/zero]\n${SPEC_YAML}`, dir, 'c.yaml')]), /plugins\[0\]: plugin \/dev\/zero is not a regular file/)
})

test('extends: a file that is not a spec (passwd- and shadow-like lines) is refused without echoing a line of it', () => {
  const dir = tempDir()
  const secret = 'Sup3rS3cretHash'
  writeFileSync(join(dir, 'passwd'), Array.from({length: 30}, (_, i) => `user${i}:x:${1000 + i}:${1000 + i}:${secret}:/home/u${i}:/bin/sh`).join('\n'))
  writeFileSync(join(dir, 'shadow'), Array.from({length: 30}, (_, i) => `user${i}:$6$${secret}${i}:20228:0:99999:7:::`).join('\n'))
  writeFileSync(join(dir, 'services'), Array.from({length: 30}, (_, i) => `svc${i}\t\t${i}/tcp\t\t${secret}`).join('\n'))
  for (const base of ['passwd', 'shadow', 'services', '/etc/passwd']) {
    const r = mixture(['validate', writeSpec(`extends: ${base}\n${SPEC_YAML}`, dir, `on-${base.replace(/\//g, '_')}.yaml`)])
    assert.equal(r.code, 2, r.stderr)
    assert.ok(!r.stderr.includes(secret) && !/root:|user\d+:|svc\d+/.test(r.stderr), `${base} is echoed: ${r.stderr}`)
    assert.ok(r.stderr.split('\n').length < 60)
  }
})

test('a YAML alias bomb is bad input: exit 2 with file:line', () => {
  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({length: 8}, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n')
  const file = writeSpec(`${SPEC_YAML}${bomb}\n`)
  refused(mixture(['validate', file]), /spec\.yaml:5:\d+: YAML alias error: .*alias bomb/)
  const t0 = performance.now()
  assert.throws(() => loadSpec(file), /alias bomb/)
  assert.ok(performance.now() - t0 < 2000, `the expansion is cut short: ${(performance.now() - t0).toFixed(0)} ms`)
  const many = Array.from({length: 2000}, (_, i) => `k${i}: *v`).join('\n')
  refused(mixture(['validate', writeSpec(`${SPEC_YAML}v: &v 1\n${many}\n`)]), /uses 2000 YAML aliases/)
})

test('numbers out of bounds: 1e400 is not Infinity epochs; bounds are in the message and in mixture schema', () => {
  const file = writeSpec(`${SPEC_YAML}train: {epochs: 1e400, batch_size: 100000000}\n`)
  const r = mixture(['validate', file])
  refused(r, /spec\.yaml:4:\d+: train\.epochs: must be a finite number, not Infinity/)
  assert.match(r.stderr, /train\.batch_size: must be <= 65536 \(got 100000000\)/)
  assert.doesNotMatch(r.stderr, /train\.epochs: must be <=/, 'reported once')
  const plugin = mixture(['validate', writeSpec(`name: x\ndata: {dataset: synthetic}\nmodel: {type: mixture, components: [{type: cnn, channels: [100000000, 3]}]}\n`)])
  refused(plugin, /model\.components\[0\]\.channels\[0\]: must be <= 16384/)
  const schema = JSON.parse(mixture(['schema']).stdout)
  assert.equal(schema.properties.train.properties.epochs.maximum, 100_000)
  const synthetic = schema.properties.data.allOf.find((b: {if: {properties: {dataset: {const: string}}}}) => b.if.properties.dataset.const === 'synthetic')
  assert.equal(synthetic.then.properties.synthetic.properties.train.maximum, 100_000)
})
