#!/usr/bin/env node
/**
 * Builds the native oneDNN addon (native/build/Release/mixture_native.node) with node-gyp.
 *
 *   node native/build.mjs             build or fail with exit code 1 (npm run build:native)
 *   node native/build.mjs --optional  build if possible; never fails (the npm "install" script)
 *
 * Needs a C++17 compiler, make, python3 and oneDNN 2.x headers and library (Debian/Ubuntu:
 * `apt-get install libdnnl-dev`). Set MIXTURE_SKIP_NATIVE=1 to skip the build on install.
 */
import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {delimiter, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const optional = process.argv.includes('--optional')
const addon = join(here, 'build', 'Release', 'mixture_native.node')

function finish(problem) {
  if (!problem) process.exit(0)
  const hint = 'The native backend stays unavailable and `--backend auto` falls back to WASM/cpu. To enable it, install oneDNN (Debian/Ubuntu: apt-get install libdnnl-dev) and run npm run build:native.'
  if (optional) {
    console.warn(`mixture-models: native addon not built: ${problem}. ${hint}`)
    process.exit(0)
  }
  console.error(`native addon build failed: ${problem}. ${hint}`)
  process.exit(1)
}

if (optional && process.env.MIXTURE_SKIP_NATIVE) finish('MIXTURE_SKIP_NATIVE is set')
if (process.platform !== 'linux' && process.platform !== 'darwin') finish(`unsupported platform ${process.platform}`)

function findHeader() {
  const dirs = [...(process.env.CPATH ?? '').split(delimiter), ...(process.env.CPLUS_INCLUDE_PATH ?? '').split(delimiter), '/usr/include', '/usr/local/include', '/opt/homebrew/include']
  return dirs.filter(Boolean).find((d) => existsSync(join(d, 'oneapi', 'dnnl', 'dnnl.hpp')))
}
if (!findHeader()) finish('oneDNN headers (oneapi/dnnl/dnnl.hpp) not found')

function findNodeGyp() {
  const candidates = []
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp)
  try {
    candidates.push(createRequire(join(here, 'package.json')).resolve('node-gyp/bin/node-gyp.js'))
  } catch {
    // not a dependency: use the copy bundled with npm
  }
  const prefix = dirname(dirname(process.execPath))
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  candidates.push(join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  return candidates.find((c) => existsSync(c))
}
const nodeGyp = findNodeGyp()
if (!nodeGyp) finish('node-gyp not found (it ships with npm; or install it with npm i -g node-gyp)')

// node-gyp.js runs under this Node; anything else (a wrapper script) runs as is
const [command, args] = nodeGyp.endsWith('.js') ? [process.execPath, [nodeGyp, 'rebuild', '--jobs', 'max']] : [nodeGyp, ['rebuild', '--jobs', 'max']]
// Use the running Node's own headers when they are installed beside it (no download needed).
const prefix = dirname(dirname(process.execPath))
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`)

console.log(`building the native addon: ${[command === process.execPath ? 'node' : command, ...args].map((a) => (a.includes(' ') ? JSON.stringify(a) : a)).join(' ')}`)
const build = spawnSync(command, args, {cwd: here, stdio: optional ? ['ignore', 'pipe', 'pipe'] : 'inherit', encoding: 'utf8'})
if (build.error) finish(`node-gyp could not start (${build.error.message})`)
if (build.status !== 0) {
  if (optional) {
    const log = `${build.stdout ?? ''}\n${build.stderr ?? ''}`.trim().split('\n')
    console.warn(log.slice(-15).join('\n'))
  }
  finish(`node-gyp exited with code ${build.status}`)
}

// Prove the result loads (a missing shared library only shows up here).
const check = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addon)}); const i = a.info(); console.log('native addon ready: oneDNN ' + i.dnnl + ' JIT ' + i.isa + ', ' + i.simd + ' element-wise')`], {encoding: 'utf8'})
if (check.status !== 0) finish(`the built addon does not load: ${(check.stderr || '').trim().split('\n')[0]}`)
process.stdout.write(check.stdout)
finish()
