import {Args, Flags} from '@oclif/core'
import {existsSync, mkdirSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {BaseCommand} from '../base-command.js'
import {ckptFlag, runBackendFlag, pathFlag, weightsFlag} from '../flags.js'
import {predictImages, predictionsCsv, type PredictResult} from '../predict/predict.js'
import {writeFileAtomic} from '../fs/write-atomic.js'
import type {CheckpointChoice, WeightChoice} from '../run/load-run.js'

export default class Predict extends BaseCommand<typeof Predict> {
  static summary = "Classify image files with a run's checkpoint: the top classes by name, with probabilities."
  static description = [
    "PNG, JPEG, WebP, GIF and TIFF files, or folders of them (searched recursively). Each image is brought to the run's input as its evaluation images were: centre-cropped to a square, resized (or zero-padded) to image_size as the run's data.resize does, scaled to [0, 1] and normalised where the run's data.augment has a normalize transform. Class names come from the run's dataset.",
    'Prints CSV (file,rank,index,class,probability), or writes it to --out; --json prints {predictions: [{file, top, logits}], outputs, input, ...} instead. Nothing in the run folder is changed.',
  ].join('\n\n')

  static examples = [
    {description: 'Two images, the top 5 classes of each:', command: '<%= config.bin %> <%= command.id %> results/quickstart/20261126-101500-1a2b3c4d shoe.png shirt.jpg'},
    {description: 'A folder, the top class only, into a CSV file:', command: '<%= config.bin %> <%= command.id %> results/quickstart/20261126-101500-1a2b3c4d photos/ --top-k 1 --out predictions.csv'},
  ]

  static strict = false
  static args = {
    run: Args.string({required: true, description: 'Run folder (results/<name>/<stamp>-<hash>/)'}),
    images: Args.string({required: true, description: 'Image files or folders of them (more may follow)'}),
  }

  static flags = {
    ckpt: ckptFlag,
    weights: weightsFlag,
    'top-k': Flags.integer({summary: 'How many classes to list per image, most probable first.', default: 5, min: 1}),
    out: pathFlag('Write the CSV to this file instead of printing it (its folders are made; an existing folder, or a name ending in /, gets predictions.csv).'),
    backend: runBackendFlag,
    'skip-bad': Flags.boolean({summary: 'Leave out images that cannot be read or brought to the input (each is named on stderr and under skipped in --json) instead of stopping at the first; a folder that cannot be walked (a symlink loop, a FIFO) still stops predict.'}),
  }

  async run(): Promise<PredictResult> {
    const {argv, flags} = await this.parse(Predict)
    const [run, ...inputs] = argv as string[]
    const result = await predictImages({run, inputs, ckpt: flags.ckpt as CheckpointChoice | undefined, weights: flags.weights as WeightChoice | undefined, topK: flags['top-k'], backend: flags.backend, skipBad: flags['skip-bad'], log: (m) => this.note(m)})
    const csv = predictionsCsv(result)
    if (flags.out) {
      const file = csvFile(flags.out)
      mkdirSync(dirname(file), {recursive: true})
      writeFileAtomic(file, csv)
      this.note(`${result.predictions.length} image(s) classified${result.skipped.length > 0 ? `, ${result.skipped.length} skipped` : ''}; written to ${file}`)
    } else if (!this.jsonEnabled()) {
      process.stdout.write(csv)
    }
    return result
  }
}

/** Where `--out` puts the CSV: the file named, or predictions.csv in a folder (one that exists, or a name ending in /). */
function csvFile(out: string): string {
  const path = resolve(out)
  const folder = /[/\\]$/.test(out) || (existsSync(path) && statSync(path).isDirectory())
  return folder ? join(path, 'predictions.csv') : path
}
