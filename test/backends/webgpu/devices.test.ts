/**
 * engine.device: which WebGPU adapter a run opens. The choice itself is checked on listings as
 * dawn.node and Mesa's device-select layer print them (several GPUs, identical ones, bus ids); the
 * end-to-end tests run `mixture run` on the adapters here (lavapipe in CI, where a second copy of
 * its Vulkan driver makes two identical adapters) and read what env.json records.
 */
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {listAdapters, normalizeBusId, parseAdapterList, parseLayerList, selectAdapter, selectSlurmAdapter, slurmDevice, type ListedAdapter} from '../../../src/backends/webgpu/devices.js'
import {DeviceError} from '../../../src/engine/device.js'
import {SpecError} from '../../../src/config/errors.js'
import {mixture, resolveObject, tempDir, writeSpec} from '../../helpers.js'
import {needing} from '../../require.js'

const adapters = (names: string[]): ListedAdapter[] => names.map((name, index) => ({index, backend: 'vulkan', name}))

test('PCI bus ids in the forms nvidia-smi, lspci and sysfs write them', () => {
  assert.equal(normalizeBusId('00000000:3B:00.0'), '0000:3b:00.0')
  assert.equal(normalizeBusId('3b:00.1'), '0000:3b:00.1')
  assert.equal(normalizeBusId('0000:1a:00.0'), '0000:1a:00.0')
  assert.equal(normalizeBusId('3b:00'), undefined)
  assert.equal(normalizeBusId('gpu0'), undefined)
})

test('the adapter lists dawn.node and the device-select layer print', () => {
  const dawn = "Error: no suitable backends found\nAvailable adapters:\n * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'\n * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'\n * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'\n"
  assert.deepEqual(parseAdapterList(dawn).map((a) => [a.index, a.name]), [
    [0, 'NVIDIA H100 80GB HBM3'],
    [1, 'NVIDIA H100 80GB HBM3'],
    [2, 'llvmpipe (LLVM 15.0.6, 256 bits)'],
  ])
  const layer = 'selectable devices:\n  GPU 0: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:1b:00.0\n  GPU 1: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:43:00.0\n  GPU 2: 10005:0 "llvmpipe (LLVM 15.0.6, 256 bits)" CPU\n'
  assert.deepEqual(parseLayerList(layer), [
    {name: 'NVIDIA H100 80GB HBM3', type: 'discrete GPU', pci_bus_id: '0000:1b:00.0'},
    {name: 'NVIDIA H100 80GB HBM3', type: 'discrete GPU', pci_bus_id: '0000:43:00.0'},
    {name: 'llvmpipe (LLVM 15.0.6, 256 bits)', type: 'CPU'},
  ])
})

test('an adapter with a name of its own is opened by name; identical ones by the bus id the layer gives', () => {
  const mixed = adapters(['NVIDIA A100-SXM4-80GB', 'NVIDIA A100', 'AMD Instinct MI250'])
  assert.deepEqual(selectAdapter(2, mixed, undefined).flags, ['adapter=AMD Instinct MI250'])
  assert.deepEqual(selectAdapter(0, mixed, undefined).flags, ['adapter=NVIDIA A100-SXM4-80GB'])
  // "NVIDIA A100" is a prefix of adapter 0's name, which dawn.node would open instead: by bus id, or refused.
  assert.throws(() => selectAdapter(1, mixed, undefined), (e: unknown) => e instanceof DeviceError && /which is not installed here/.test(e.message))
  const withBus = selectAdapter(1, mixed, [{name: 'NVIDIA A100-SXM4-80GB', type: 'discrete GPU', pci_bus_id: '0000:1b:00.0'}, {name: 'NVIDIA A100', type: 'discrete GPU', pci_bus_id: '0000:43:00.0'}])
  assert.deepEqual(withBus.env, {DRI_PRIME: 'pci-0000_43_00_0', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1'})

  const twins = adapters(['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3'])
  const layer = parseLayerList('  GPU 0: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:1b:00.0\n  GPU 1: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:43:00.0\n')
  assert.deepEqual(selectAdapter(0, twins, layer).flags, ['adapter=NVIDIA H100 80GB HBM3'])
  const second = selectAdapter(1, twins, layer)
  assert.deepEqual(second.flags, [])
  assert.equal(second.env.DRI_PRIME, 'pci-0000_43_00_0')
  assert.match(second.how, /by PCI bus id 0000:43:00\.0, the 2\. of the adapters named/)
  assert.throws(() => selectAdapter(1, twins, []), /lists none for them/)
  assert.throws(() => selectAdapter(2, twins, layer), /engine\.device 2: there are 2 adapters here \(0: NVIDIA H100 80GB HBM3; 1: NVIDIA H100 80GB HBM3\)/)
})

test('a PCI bus id needs the device-select layer and a device on that bus', () => {
  const twins = adapters(['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3'])
  const layer = parseLayerList('  GPU 0: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:1b:00.0\n  GPU 1: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:43:00.0\n')
  assert.deepEqual(selectAdapter('00000000:43:00.0', twins, layer).env, {DRI_PRIME: 'pci-0000_43_00_0', MESA_VK_DEVICE_SELECT_FORCE_DEFAULT_DEVICE: '1'})
  assert.throws(() => selectAdapter('0000:44:00.0', twins, layer, '--device'), /--device "0000:44:00\.0": no Vulkan device is on PCI bus 0000:44:00\.0; the devices here are on 0000:1b:00\.0 \(NVIDIA H100 80GB HBM3\), 0000:43:00\.0/)
  assert.throws(() => selectAdapter('0000:43:00.0', twins, undefined), /needs Mesa's Vulkan device-select layer/)
})

test('the GPU Slurm gave a job, as the PCI bus id of its NVIDIA device minor', () => {
  const proc = tempDir()
  for (const [bus, minor] of [['0000:1b:00.0', 0], ['0000:43:00.0', 1]] as const) {
    mkdirSync(join(proc, 'driver', 'nvidia', 'gpus', bus), {recursive: true})
    writeFileSync(join(proc, 'driver', 'nvidia', 'gpus', bus, 'information'), `Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 35\nDevice Minor: \t ${minor}\nBus Location: \t ${bus}\n`)
  }
  assert.equal(slurmDevice({}, proc), undefined)
  assert.equal(slurmDevice({SLURM_JOB_GPUS: '1'}, proc)?.request, '0000:43:00.0')
  assert.equal(slurmDevice({SLURM_JOB_GPUS: '0,1', SLURM_STEP_GPUS: '1'}, proc)?.request, '0000:43:00.0')
  assert.match(slurmDevice({SLURM_JOB_GPUS: '3'}, proc)!.note, /no NVIDIA device under .* has minor number 3: Dawn's choice is used/)
  assert.match(slurmDevice({SLURM_JOB_GPUS: '0'}, tempDir())!.note, /does not exist \(not NVIDIA's driver\)/)
})

test('the GPU Slurm gave: by bus id through the layer; without it, Dawn\'s choice only when the job sees no other adapter', () => {
  const layer = parseLayerList('  GPU 0: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:1b:00.0\n  GPU 1: 10de:2330 "NVIDIA H100 80GB HBM3" discrete GPU 0000:43:00.0\n')
  const twins = adapters(['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3'])
  assert.equal(selectSlurmAdapter('0000:43:00.0', 1, twins, layer)?.env.DRI_PRIME, 'pci-0000_43_00_0')
  assert.equal(selectSlurmAdapter('0000:43:00.0', 1, adapters(['NVIDIA H100 80GB HBM3']), undefined), undefined, 'constrained to its GPU: the one adapter it sees')
  assert.throws(() => selectSlurmAdapter('0000:43:00.0', 1, twins, undefined), (e: unknown) => e instanceof DeviceError && /Slurm gave this job the GPU on PCI bus 0000:43:00\.0, but Dawn lists 2 adapters here .*ConstrainDevices=yes/.test(e.message))
})

// End to end, on the adapters this machine has.
const entry = (() => {
  try {
    return pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href
  } catch {
    return undefined
  }
})()
const here = entry ? listAdapters(entry, []) : []
const gpu = needing('webgpu', !entry ? 'the webgpu package is not installed' : here.length === 0 ? 'Dawn lists no adapter here' : process.env.MIXTURE_WEBGPU_ALLOW_SOFTWARE !== '1' && here.every((a) => /llvmpipe|lavapipe|swiftshader/i.test(a.name)) ? 'the only adapters are software ones and MIXTURE_WEBGPU_ALLOW_SOFTWARE is not 1' : false)

const tiny = {name: 'tiny', seed: 1, data: {dataset: 'synthetic', image_size: 8, synthetic: {train: 32, test: 16, classes: 3}}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}, train: {epochs: 1, batch_size: 16}}

function envJson(out: string): {backend: {device: Record<string, unknown>}} {
  const root = join(out, 'tiny')
  const run = readdirSync(root)[0]
  return JSON.parse(readFileSync(join(root, run, 'env.json'), 'utf8'))
}

gpu.test('engine.device 0 opens the first adapter and env.json records it with every adapter listed; an index past them is exit 2', {timeout: 120_000}, () => {
  const dir = tempDir()
  const spec = writeSpec(tiny, dir)
  const out = join(dir, 'results')
  const r = mixture(['run', spec, '--backend', 'webgpu', '--set', 'engine.device=0', '--out', out], {env: {MIXTURE_BACKEND: undefined}, timeoutMs: 110_000})
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /backend: webgpu — .* adapter 0 \(engine\.device\)/)
  const device = envJson(out).backend.device
  assert.equal(device.requested, 0)
  assert.equal(device.source, 'engine.device')
  assert.equal(device.index, 0)
  assert.equal(device.name, here[0].name)
  assert.deepEqual((device.adapters as ListedAdapter[]).map((a) => a.name), here.map((a) => a.name))
  // In a Slurm job that has GPUs, what Slurm says is recorded (here no NVIDIA driver ties GPU 0 to a bus id).
  const slurmOut = join(dir, 'slurm')
  const inJob = mixture(['run', spec, '--backend', 'webgpu', '--out', slurmOut], {env: {MIXTURE_BACKEND: undefined, SLURM_JOB_GPUS: '0', SLURM_JOB_ID: '42'}, timeoutMs: 110_000})
  assert.equal(inJob.code, 0, inJob.stderr)
  const recorded = envJson(slurmOut).backend.device
  assert.deepEqual(recorded.slurm, {SLURM_JOB_GPUS: '0', SLURM_JOB_ID: '42'})
  if (!existsSync('/proc/driver/nvidia/gpus')) assert.match(String(recorded.how), /^Slurm gave GPU 0; .* does not exist \(not NVIDIA's driver\), so nothing says which adapter that is: Dawn's choice is used$/)
  const past = mixture(['run', spec, '--backend', 'webgpu', '--set', `engine.device=${here.length}`, '--out', out], {env: {MIXTURE_BACKEND: undefined}, timeoutMs: 110_000})
  assert.equal(past.code, 2, past.stderr)
  assert.match(past.stderr, new RegExp(`engine\\.device ${here.length}: there (is one adapter|are ${here.length} adapters) here \\(0: `))
})

gpu.test('sweep --jobs 2 --devices naming an adapter that is not here: exit 2 before any point starts, saying what is here', {timeout: 60_000}, () => {
  const dir = tempDir()
  const out = join(dir, 'results')
  const r = mixture(['sweep', writeSpec(tiny, dir), '--set', 'seed=1,2', '--jobs', '2', '--devices', `0,${here.length}`, '--out', out], {env: {MIXTURE_BACKEND: undefined}, timeoutMs: 50_000})
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, new RegExp(`sweep --devices ${here.length}: there (is one adapter|are ${here.length} adapters) here \\(0: `))
  assert.ok(!existsSync(out), 'nothing was made')
})

/** The software Vulkan driver VK_DRIVER_FILES names (lavapipe), copied to a second path: two identical adapters. */
function twinIcd(dir: string): string | undefined {
  const icd = process.env.VK_DRIVER_FILES?.split(':')[0]
  if (!icd || !existsSync(icd)) return undefined
  const doc = JSON.parse(readFileSync(icd, 'utf8')) as {ICD: {library_path: string}}
  const lib = join(dir, 'libvulkan_twin.so')
  copyFileSync(doc.ICD.library_path, lib)
  const twin = join(dir, 'twin_icd.json')
  writeFileSync(twin, JSON.stringify({...doc, ICD: {...doc.ICD, library_path: lib}}))
  return `${icd}:${twin}`
}

gpu.test('two identical adapters are both listed; the first opens by name, the second needs a bus id the driver does not give', {timeout: 120_000}, (t) => {
  const dir = tempDir()
  const files = twinIcd(dir)
  if (!files) {
    t.skip('needs a Vulkan driver file in VK_DRIVER_FILES to copy (lavapipe: eval "$(bash bench/gpu/lavapipe.sh)")')
    return
  }
  const spec = writeSpec(tiny, dir)
  const out = join(dir, 'results')
  const env = {MIXTURE_BACKEND: undefined, VK_DRIVER_FILES: files}
  const listed = listAdapters(entry!, [], {...process.env, VK_DRIVER_FILES: files})
  assert.equal(listed.length, 2 * here.length, 'the copy adds one adapter per adapter')
  const wrong = mixture(['run', spec, '--backend', 'webgpu', '--set', 'engine.device=1', '--out', out], {env, timeoutMs: 110_000})
  assert.equal(wrong.code, 2, wrong.stderr)
  assert.match(wrong.stderr, /engine\.device 1: adapters 0, 1 are all named ".*", and dawn\.node chooses by name only; telling them apart needs their PCI bus ids/)
  const first = mixture(['run', spec, '--backend', 'webgpu', '--set', 'engine.device=0', '--set', 'train.epochs=1', '--out', out], {env, timeoutMs: 110_000})
  assert.equal(first.code, 0, first.stderr)
  const device = envJson(out).backend.device
  assert.equal((device.adapters as ListedAdapter[]).length, 2)
  assert.equal(device.how, 'by name (dawn.node adapter=)')
})

test('engine.device in a spec: an index or a PCI bus id, anything else refused with its line; a spec without it resolves as before', () => {
  const base = {name: 'x', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [3]}]}}
  assert.equal(resolveObject({...base, engine: {device: 1}}).engine.device, 1)
  assert.equal(resolveObject({...base, engine: {device: '00000000:3B:00.0'}}).engine.device, '00000000:3B:00.0')
  assert.ok(!('device' in resolveObject(base).engine), 'no default: configurations (and their hashes) without it are unchanged')
  for (const bad of ['gpu0', -1, 1.5]) {
    assert.throws(
      () => resolveObject({...base, engine: {device: bad}}),
      (e: unknown) => e instanceof SpecError && e.problems.some((p) => p.path === 'engine.device' && p.origin?.line !== undefined),
      `engine.device ${bad}`,
    )
  }
})
