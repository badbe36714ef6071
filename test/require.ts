/**
 * What a test suite needs that a machine may lack (the native addon, a WebGPU adapter, a dataset
 * package, ...), in one list. Without it a suite is skipped, saying why, and every one of its tests
 * is counted as skipped; with MIXTURE_REQUIRE naming it (CI sets
 * MIXTURE_REQUIRE=native,webgpu,fashion_mnist,chromium,torch,slurm) the suite fails instead, saying what is missing, so
 * that a run cannot pass by skipping.
 *
 * To add a requirement: a line in REQUIREMENTS, then `skipUnless('<name>', whyMissing)` in the suite.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {it as nodeIt, test as nodeTest} from 'node:test'
import {REPO} from './helpers.js'

/** Each requirement and how to provide it. */
export const REQUIREMENTS: Record<string, string> = {
  native: 'the native oneDNN addon: apt-get install libdnnl-dev, then npm run build:native',
  webgpu: 'a WebGPU adapter: a GPU, or Mesa\'s software Vulkan device (apt-get install libvulkan1 mesa-vulkan-drivers; eval "$(bash bench/gpu/lavapipe.sh)")',
  fashion_mnist: 'Debian\'s dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist/)',
  chromium: 'a headless browser for the HTML report\'s test: apt-get install chromium (or MIXTURE_CHROMIUM=<executable>)',
  torch: 'PyTorch for loading exported weights into the reference models: apt-get install python3-torch python3-torchvision (used by /usr/bin/python3)',
  slurm: 'Slurm\'s controller, node daemon and client commands, run as root: apt-get install slurmctld slurmd slurm-client (the suite starts a one-node cluster of its own)',
}

/** The requirements MIXTURE_REQUIRE names (comma- or space-separated); an unknown name is an error, not ignored. */
export function requiredNow(env: NodeJS.ProcessEnv = process.env): Set<string> {
  const names = (env.MIXTURE_REQUIRE ?? '').split(/[\s,]+/).filter(Boolean)
  const unknown = names.filter((n) => !(n in REQUIREMENTS))
  if (unknown.length > 0) throw new Error(`MIXTURE_REQUIRE names ${unknown.join(', ')}, which no suite knows; known: ${Object.keys(REQUIREMENTS).join(', ')}`)
  return new Set(names)
}

/**
 * The skip reason of a suite that needs `need` (false when it is there). `missing`: why it is not
 * there, or false. Throws, failing the suite, when MIXTURE_REQUIRE names `need`.
 */
export function skipUnless(need: string, missing: string | false | undefined, env: NodeJS.ProcessEnv = process.env): string | false {
  if (!(need in REQUIREMENTS)) throw new Error(`unknown requirement "${need}": add it to REQUIREMENTS in test/require.ts`)
  if (!missing) return false
  const reason = `${need} is missing here (${missing}); it needs ${REQUIREMENTS[need]}`
  if (requiredNow(env).has(need)) throw new Error(`MIXTURE_REQUIRE includes ${need}, but ${reason}`)
  return reason
}

type TestFn = typeof nodeIt

/**
 * `it` and `test` for a suite whose every test needs `need`: when it is missing, each test is
 * registered with that skip reason, so the runner counts it (a skipped `describe` hides its tests).
 */
export function needing(need: string, missing: string | false | undefined): {skip: string | false; it: TestFn; test: TestFn} {
  const skip = skipUnless(need, missing)
  if (!skip) return {skip, it: nodeIt, test: nodeTest}
  const skipped = ((name: string, ...rest: unknown[]) => {
    const fn = rest.find((r) => typeof r === 'function')
    const options = rest.find((r) => typeof r === 'object' && r !== null) as object | undefined
    return nodeIt(name, {...options, skip}, fn as () => void)
  }) as TestFn
  return {skip, it: skipped, test: skipped}
}

/** Why /usr/bin/python3 cannot import torch and torchvision, or false when it can. */
export function torchMissing(): string | false {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch, torchvision'], {encoding: 'utf8', timeout: 60_000})
  if (r.error) return `/usr/bin/python3 cannot be run (${r.error.message})`
  return r.status === 0 ? false : `/usr/bin/python3 cannot import torch and torchvision (${r.stderr.trim().split('\n').pop()})`
}

/** The addon file `npm run build:native` makes; the native suites skip only when it does not exist. */
export function nativeBuilt(): string | false {
  const file = join('native', 'build', 'Release', 'mixture_native.node')
  return existsSync(join(REPO, file)) ? false : `${file} does not exist: the addon is not built`
}

/** The backends a suite that runs an op on each of them walks. */
export const ALL_BACKENDS = ['cpu', 'native', 'wasm', 'webgpu'] as const

/**
 * Why `backend` cannot run here (the skip reason), or false when it can (it is then the active
 * backend). A backend that is a requirement (native, webgpu) fails the suite instead when
 * MIXTURE_REQUIRE names it.
 */
export async function backendSkip(backend: (typeof ALL_BACKENDS)[number]): Promise<string | false> {
  let missing: string | false = false
  // Imported here: the suites that need only the other requirements do not load the backends.
  const {selectBackend} = await import('../src/engine/backend.js')
  try {
    await selectBackend(backend)
  } catch (error) {
    missing = (error as Error).message
  }
  return backend in REQUIREMENTS ? skipUnless(backend, missing) : missing
}
