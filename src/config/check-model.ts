/** The model of a resolved spec built, its problems said at the spec's lines (`validate`, `params`, dry runs, runs, `--seeds`). */
import {buildModel, ModelBuildError, type BuiltModel} from '../model/build.js'
import {displayPath} from '../fs/display-path.js'
import {SpecError} from './errors.js'
import {originOf} from './load.js'
import type {Resolved} from './resolve.js'

/**
 * A ModelBuildError as a spec problem at the line of the part whose builder complained (else of
 * `model:`), or at a --set inside that part, which changed what the spec's line says.
 */
export function atSpecLines(error: ModelBuildError, {loaded}: Pick<Resolved, 'loaded'>): SpecError {
  const path = error.specPath ?? 'model'
  const set = [...loaded.origins].find(([key, origin]) => (key.startsWith(`${path}.`) || key.startsWith(`${path}[`)) && origin.file.startsWith('--set'))
  return new SpecError([{origin: set?.[1] ?? originOf(loaded.origins, path), path, message: error.message}], displayPath(loaded.file))
}

/** buildModel for a spec as loaded: a ModelBuildError becomes a SpecError at the spec's lines (atSpecLines). */
export function buildModelIn(resolved: Resolved): BuiltModel {
  try {
    return buildModel(resolved.spec)
  } catch (error) {
    throw error instanceof ModelBuildError ? atSpecLines(error, resolved) : error
  }
}
