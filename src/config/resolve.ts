/** The whole path from a spec file on disk to a validated, resolved spec: load, plugins, validate. */
import {resolve} from 'node:path'
import {isObject, loadSpec, type LoadedSpec} from './load.js'
import {validateSpec} from './validate.js'
import {SpecError} from './errors.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {loadPlugins, pluginPaths} from './plugins.js'
import {isFolder} from '../fs/is-folder.js'
import {ownDataProblem} from '../data/load.js'

export interface Resolved {
  loaded: LoadedSpec
  spec: ResolvedSpec
}

export interface ResolveOptions {
  /** false: the dataset's hooks that look at the data are not called (validate.ts). */
  readData?: boolean
  /**
   * An explicit data directory (`--data-dir`), which replaces the spec's own data location where the
   * data are read: the data checks (the dataset's classes, its images' size, a validation split of
   * its own) look at it instead, so that a spec or run whose own location is gone (image_folder's
   * root moved) resolves. The resolved spec is as without it (its data.data_dir, if any, its own).
   */
  dataDir?: string
  /**
   * With `dataDir`, for a new run: where the spec's own data cannot be read (a root gone) the run
   * reads `dataDir` and nothing else, so the resolved spec records it as data.data_dir (the run's
   * config.yaml then says where its data are, and reruns or resumes without --data-dir); said with `log`.
   */
  adoptDataDir?: boolean
  log?: (message: string) => void
}

export async function resolveSpec(file: string, sets: string[] = [], opts: ResolveOptions = {}): Promise<Resolved> {
  const loaded = loadSpec(file, sets)
  const plugins = pluginPaths(loaded.spec.plugins, loaded.origins, loaded.file)
  await loadPlugins(plugins, loaded.origins)
  const spec = opts.dataDir !== undefined && opts.readData !== false ? validateReadingFrom(loaded, resolve(opts.dataDir)) : validateSpec(loaded, {readData: opts.readData})
  spec.plugins = plugins
  if (opts.adoptDataDir && opts.dataDir !== undefined && opts.readData !== false && isFolder(resolve(opts.dataDir))) {
    const problem = ownDataProblem(spec.data)
    if (problem !== undefined) {
      spec.data.data_dir = resolve(opts.dataDir)
      const log = opts.log ?? ((m: string) => process.stderr.write(`${m}\n`))
      log(`note: the spec's own data cannot be read (${problem.replace(/\.$/, '').split('; ')[0]}); the run reads --data-dir ${spec.data.data_dir} in their place, and its config.yaml records it as data.data_dir`)
    }
  }
  return {loaded, spec}
}

/**
 * validateSpec with the data checks reading `dataDir` (data.data_dir set to it for them, which the
 * datasets read in place of their own location), then data.data_dir put back as the spec has it.
 * A `dataDir` that is not a folder is left to the load, which says so naming --data-dir: the spec
 * is then checked against its own data, as without it.
 */
function validateReadingFrom(loaded: LoadedSpec, dataDir: string): ResolvedSpec {
  const data = loaded.spec.data
  if (!isObject(data)) return validateSpec(loaded)
  if (!isFolder(dataDir)) {
    try {
      return validateSpec(loaded)
    } catch (error) {
      // The spec's own data are wrong too (gone, say): their message would say to give --data-dir, which was given.
      if (!(error instanceof SpecError) || !error.problems.some((p) => p.path === 'data' || p.path.startsWith('data.'))) throw error
      throw new SpecError([{path: 'data', message: `--data-dir ${dataDir} is not a folder: give the folder the data are in`}, ...error.problems], error.file)
    }
  }
  const spec = validateSpec({...loaded, spec: {...loaded.spec, data: {...data, data_dir: dataDir}}})
  if (data.data_dir === undefined || data.data_dir === null) delete (spec.data as {data_dir?: string}).data_dir
  // The spec's own data_dir, made absolute as validation makes it (against the file that wrote it); nothing read.
  else spec.data.data_dir = validateSpec(loaded, {readData: false}).data.data_dir
  return spec
}
