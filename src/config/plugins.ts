/**
 * Loading third-party plugin files listed in a spec (`plugins: [./my-plugin.js]`). A plugin either
 * imports the registration functions from 'mixture-models' or exports a default function that gets
 * the public API (same TensorFlow.js instance guaranteed). Paths are relative to the spec file that
 * lists them; a --set's, like every path a --set gives, to the working folder.
 */
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
        fail(`plugin ${file} failed while loading: ${(error as Error).message.split('\n')[0]}`)
      }
    })
    const registered = allEntries([...KINDS, ...DATA_KINDS, ...RECIPE_KINDS]).filter((e) => e.source === file)
    if (registered.length === 0) fail(`plugin ${file} registered nothing: a plugin calls mm.registerComponent (or registerModel, registerDataset, …) in a default export function(mm), or registers when imported`)
    // Each schema the file registered is compiled now, so that a mistake in it is the plugin's, found here.
    for (const entry of registered) {
      try {
        validator(entry.schema as JsonSchema)
      } catch (error) {
        fail(`plugin ${file} registers ${entry.kind} "${entry.name}" with a schema that is not valid JSON Schema: ${(error as Error).message.split('\n')[0]}`)
      }
    }
    loaded.add(file)
  }
}
