/**
 * Loading third-party plugin files listed in a spec (`plugins: [./my-plugin.js]`). A plugin either
 * imports the registration functions from 'mixture-models' or exports a default function that gets
 * the public API (same TensorFlow.js instance guaranteed). Paths are relative to the spec file that
 * lists them; a --set's, like every path a --set gives, to the working folder.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, statSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import * as api from '../api.js'
import {allEntries, DATA_KINDS, KINDS, RECIPE_KINDS, withSource, type JsonSchema} from '../registry/registry.js'
import {type Problem, SpecError} from './errors.js'
import {originOf, type Origins} from './load.js'
import {validator} from './validate.js'

const loaded = new Set<string>()

/** Absolute paths of the spec's plugins, each resolved against the file that listed it (the working folder for a --set). */
export function pluginPaths(list: unknown, origins: Origins, specFile: string): string[] {
  if (!Array.isArray(list)) return []
  return list.map((p, i) => {
    if (typeof p !== 'string' || p.trim() === '') {
      throw new SpecError([{origin: originOf(origins, `plugins[${i}]`), path: `plugins[${i}]`, message: `is ${JSON.stringify(p)}; a plugin is the path of a .js or .mjs file, relative to the spec`}])
    }
    const declaredIn = originOf(origins, `plugins[${i}]`)?.file
    if (declaredIn?.startsWith('--set')) return resolve(String(p))
    return resolve(dirname(declaredIn ? resolve(declaredIn) : specFile), String(p))
  })
}

/** Import each plugin once; a missing file or a plugin that throws is a SpecError naming it. */
export async function loadPlugins(paths: string[], origins: Origins): Promise<void> {
  for (const [i, file] of paths.entries()) {
    if (loaded.has(file)) continue
    const origin = originOf(origins, `plugins[${i}]`)
    const fail = (message: string): never => {
      throw new SpecError([{origin, path: `plugins[${i}]`, message} satisfies Problem])
    }
    if (!existsSync(file)) fail(`plugin file ${file} not found (plugin paths are relative to the spec that lists them; a --set's to the working folder)`)
    if (!statSync(file).isFile()) fail(`plugin ${file} is not a regular file (a directory, device or FIFO); give the path of a .js or .mjs file`)
    if (!/\.(m?js|cjs)$/.test(file)) fail(`plugin ${file} is not a JavaScript file (.js or .mjs); compile TypeScript plugins first`)
    await withSource(file, async () => {
      let mod: {default?: unknown}
      try {
        mod = await import(pathToFileURL(file).href)
        if (typeof mod.default === 'function') await (mod.default as (m: typeof api) => unknown)(api)
        else if (mod.default !== undefined) fail(`plugin ${file} exports a default ${typeof mod.default}; a plugin registers its entries when imported, or exports a default function(api) that does`)
      } catch (error) {
        if (error instanceof SpecError) throw error
        fail(`plugin ${file} failed while loading: ${thrownInPlugin(error, file)}`)
      }
    })
    const registered = allEntries([...KINDS, ...DATA_KINDS, ...RECIPE_KINDS]).filter((e) => e.source === file)
    if (registered.length === 0) fail(`plugin ${file} registered nothing: a plugin calls mm.registerComponent (or registerModel, registerDataset, …) in a default export function(mm), or registers when imported`)
    // Each schema the file registered is compiled now, and its defaults checked against it, so that a mistake in it is the plugin's, found here.
    for (const entry of registered) {
      let check: ReturnType<typeof validator>
      try {
        check = validator(entry.schema as JsonSchema)
      } catch (error) {
        fail(`plugin ${file} registers ${entry.kind} "${entry.name}" with a schema that is not valid JSON Schema: ${(error as Error).message.split('\n')[0]}`)
      }
      const broken = brokenDefault(check!)
      if (broken) fail(`plugin ${file} registers ${entry.kind} "${entry.name}" whose schema's default breaks the schema itself: ${broken}; correct the default (or the bound) in the plugin`)
    }
    loaded.add(file)
  }
}

/**
 * What a plugin threw while loading, for the message: an Error's first line, with where in the
 * plugin file it was thrown (a syntax error's line too) where its stack says; anything else thrown as written.
 */
function thrownInPlugin(error: unknown, file: string): string {
  if (!(error instanceof Error)) return `it threw ${typeof error === 'string' || (error !== null && typeof error === 'object') ? JSON.stringify(error) ?? String(error) : String(error)} (not an Error)`
  const href = pathToFileURL(file).href
  // A syntax error's stack does not say where in the file it is (Node prints that only when it ends the process): `node --check` does.
  const where = error instanceof SyntaxError ? spawnSync(process.execPath, ['--check', file], {encoding: 'utf8'}).stderr : error.stack
  const at = new RegExp(`(?:${escapeRegExp(href)}|${escapeRegExp(file)}):(\\d+)(?::(\\d+))?`).exec(where ?? '')
  return `${error.message.split('\n')[0]}${at ? ` (at line ${at[1]}${at[2] ? `, column ${at[2]}` : ''} of the plugin)` : ''}`
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Where an entry's defaults, filled into an empty parameter object, break its own schema (the first such key and why); undefined where they do not. */
function brokenDefault(check: ReturnType<typeof validator>): string | undefined {
  const params: Record<string, unknown> = {}
  check(params)
  const error = (check.errors ?? []).find((e) => e.keyword !== 'required')
  if (!error) return undefined
  const key = error.instancePath.slice(1).replace(/\//g, '.')
  const value = key.split('.').reduce<unknown>((node, k) => (node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined), params)
  return `${key || 'its parameters'} ${error.message} (its default ${JSON.stringify(value)})`
}
