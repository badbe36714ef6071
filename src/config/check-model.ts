/** The model of a resolved spec built once, its problems said at the spec's lines (`mixture validate`). */
import {checkModelBuilds, ModelBuildError} from '../model/build.js'
import {displayPath} from '../fs/display-path.js'
import {SpecError} from './errors.js'
import {originOf} from './load.js'
import type {Resolved} from './resolve.js'

/**
 * checkModelBuilds for a spec as loaded: a ModelBuildError becomes a spec problem at the line of
 * the part whose builder complained (else of `model:`), or at a --set inside that part, which
 * changed what the spec's line says (`mixture validate`).
 */
export function checkModelBuildsIn({spec, loaded}: Resolved): number {
  try {
    return checkModelBuilds(spec)
  } catch (error) {
    if (!(error instanceof ModelBuildError)) throw error
    const path = error.specPath ?? 'model'
    const set = [...loaded.origins].find(([key, origin]) => (key.startsWith(`${path}.`) || key.startsWith(`${path}[`)) && origin.file.startsWith('--set'))
    throw new SpecError([{origin: set?.[1] ?? originOf(loaded.origins, path), path, message: error.message}], displayPath(loaded.file))
  }
}
