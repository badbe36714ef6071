/** Small image_folder runs for the evaluation tests. */
import {join} from 'node:path'
import {runExperiment, type RunSummary} from '../../src/run/experiment.js'
import {writeSpec} from '../helpers.js'
import {isolatedTmp, writeImageFolder} from '../data/helpers.js'

/** A two-layer CNN mixture: the smallest model the evaluation tests train. */
export const TINY_MIXTURE = {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}]}

/**
 * A run of TINY_MIXTURE on a fresh image folder of 3 classes (train 3 + 3 + 3, test 2 + 3 + 2 images
 * of 6×6, cpu backend, seed 3): its temporary folder, the image folder (`images/` in it) and the run folder.
 */
export async function imageFolderRun(prefix: string, name: string, epochs: number): Promise<{tmp: string; images: string; runDir: string}> {
  const tmp = isolatedTmp(prefix)
  const images = await writeImageFolder(join(tmp, 'images'), {train: [3, 3, 3], test: [2, 3, 2]})
  const file = writeSpec({name, seed: 3, data: {dataset: 'image_folder', root: 'images', image_size: 6, cache: false}, model: TINY_MIXTURE, train: {epochs, batch_size: 4}, engine: {backend: 'cpu'}}, tmp)
  const runDir = ((await runExperiment({spec: file, outDir: join(tmp, 'results'), log: () => {}})) as RunSummary).run_dir
  return {tmp, images, runDir}
}
