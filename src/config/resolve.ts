/** The whole path from a spec file on disk to a validated, resolved spec: load, plugins, validate. */
import {loadSpec, type LoadedSpec} from './load.js'
import {validateSpec} from './validate.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {loadPlugins, pluginPaths} from './plugins.js'

export interface Resolved {
  loaded: LoadedSpec
  spec: ResolvedSpec
}

export async function resolveSpec(file: string, sets: string[] = [], opts: {readData?: boolean} = {}): Promise<Resolved> {
  const loaded = loadSpec(file, sets)
  const plugins = pluginPaths(loaded.spec.plugins, loaded.origins, loaded.file)
  await loadPlugins(plugins, loaded.origins)
  const spec = validateSpec(loaded, opts)
  spec.plugins = plugins
  return {loaded, spec}
}
