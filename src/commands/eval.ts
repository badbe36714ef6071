import {basename, join} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {evaluateRun} from '../evaluate/evaluate-run.js'
import {heatmapNote} from '../evaluate/evaluate-outputs.js'
import {DENSE_MAX_CLASSES, EVAL_SPLITS, type EvalResult} from '../evaluate/types.js'
import {HEATMAP_MAX_CLASSES} from '../report/confusion.js'
import {ckptFlag, runBackendFlag, pathFlag, weightsFlag} from '../flags.js'
import type {CheckpointChoice, WeightChoice} from '../run/load-run.js'

export default class Eval extends BaseCommand<typeof Eval> {
  static summary = "Evaluate a run's checkpoint on a split: loss, top-1, top-5, per-class accuracy, confusion matrix."
  static description = [
    "Runs the checkpoint exactly as training evaluated after each epoch (same batches, batch size, transforms, forward pass and backend), so on the test split (and the validation split) loss and accuracy equal the row metrics.csv has for the checkpoint's epoch; the output says whether they do.",
    `Writes <run>/eval/<split>-<ckpt>/ (<split>-last-trained/ for the trained weights of a run with train.ema; <split>-<ckpt>-on-<folder>/ for the images of another folder given with --data-dir, -on-<folder>-2/ and so on for other folders of the same name, so that the run's own evaluation is kept): metrics.json, confusion.csv (the layout \`mixture report\` draws), per-class.csv, and the heatmap as confusion.svg, confusion.png and confusion.vl.json. Past ${HEATMAP_MAX_CLASSES} classes there is no heatmap; past ${DENSE_MAX_CLASSES} confusion.csv is replaced by confusion-pairs.csv, the nonzero cells as true,predicted,count. Nothing else in the run folder is changed. With --json prints the metrics.json document.`,
    '--split val evaluates the validation split a run held out of its training images (data.val_split): the same images, drawn by the run\'s seed; a run without one is refused. --split train evaluates the training images it trained on (without the validation split) without augmentation (training itself reports a running accuracy over augmented batches, which differs).',
    "A run with train.ema evaluated the weights' moving average (best.ckpt holds it); --weights trained scores the weights the optimizer trained instead, from last.ckpt, and on the test split equals metrics.csv's raw_test columns.",
    '--data-dir scores the run on another folder of the same classes (matched by name; some may be missing); metrics.json records the folder (data_dir) and where the dataset read its data (data_source). For image_folder it may also be a held-out folder, test/<class>/ alone (a train/ beside it is not read for --split test or a val/ folder). An official dataset\'s test split needs its test files only. A dataset that reads no files (synthetic) does not use it, and says so.',
  ].join('\n\n')

  static examples = [
    {description: 'The best checkpoint on the test split:', command: '<%= config.bin %> <%= command.id %> results/quickstart/20261126-101500-1a2b3c4d'},
    {description: 'The last checkpoint on the training images, as JSON:', command: '<%= config.bin %> <%= command.id %> results/quickstart/20261126-101500-1a2b3c4d --ckpt last --split train --json'},
    {description: 'The best checkpoint on the validation split of a run with data.val_split:', command: '<%= config.bin %> <%= command.id %> results/quickstart/20261126-101500-1a2b3c4d --split val'},
  ]

  static args = {run: Args.string({required: true, description: 'Run folder (results/<name>/<stamp>-<hash>/)'})}
  static flags = {
    ckpt: ckptFlag,
    weights: weightsFlag,
    split: Flags.string({summary: 'Which split to evaluate.', options: [...EVAL_SPLITS], default: 'test'}),
    'data-dir': pathFlag('Folder holding the dataset files; when given, the only place searched. For image_folder, the folder as the run\'s root was, or a held-out folder: test/<class>/ alone.'),
    backend: runBackendFlag,
    progress: Flags.boolean({summary: 'Progress bars on stderr while the dataset loads (default: on when stderr is a terminal).', allowNo: true}),
  }

  async run(): Promise<EvalResult> {
    const {args, flags} = await this.parse(Eval)
    const result = await evaluateRun({
      run: args.run,
      ckpt: flags.ckpt as CheckpointChoice | undefined,
      weights: flags.weights as WeightChoice | undefined,
      split: flags.split as EvalResult['split'],
      dataDir: flags['data-dir'],
      backend: flags.backend,
      bars: !this.jsonEnabled() && (flags.progress ?? (process.stderr.isTTY && !process.env.CI)),
      log: (m) => this.note(m),
    })
    if (!this.jsonEnabled()) this.log(describeEval(result, {otherData: flags['data-dir'] !== undefined}))
    return result
  }
}

/** The human summary: the headline numbers, the comparison with training, the worst classes, the folder; `otherData`: read from --data-dir. */
export function describeEval(r: EvalResult, {otherData = false}: {otherData?: boolean} = {}): string {
  const f = (v: number) => v.toFixed(4)
  // The trained weights of a run with train.ema: training wrote their test score in the raw_test columns.
  const trained = r.moving_average && r.weights === 'trained'
  const columns = trained ? 'raw_test' : r.split
  const lines = [
    `${r.split} split${r.data_dir ? ` of ${r.data_dir}` : ''}, ${r.checkpoint}.ckpt (epoch ${r.epoch}${trained ? ', trained weights' : ''}), ${r.examples} examples: loss ${f(r.loss)}, top-1 ${f(r.accuracy)}${r.accuracy_definition === 'batch_mean' ? ' (mean of batch accuracies)' : ''}, top-${r.top_k} ${f(r.top_k_accuracy)}`,
  ]
  if (r.training) {
    lines.push(
      r.training.equal
        ? `equal to what training wrote for epoch ${r.epoch} (${columns}_loss ${r.training.loss}, ${columns}_accuracy ${r.training.accuracy})`
        : `training wrote ${columns}_loss ${r.training.loss}, ${columns}_accuracy ${r.training.accuracy} for epoch ${r.epoch}; this evaluation differs (${
            r.training.examples !== undefined && r.training.examples !== r.examples
              ? `the ${r.split} split has ${r.examples} images ${otherData ? 'in the --data-dir folder' : 'now'} and had ${r.training.examples} when the run trained${otherData ? '' : ': the data changed since'}`
              : r.training.changed.length > 0
                ? r.training.changed.join('; ')
                : 'another backend, thread count or engine switch sums in another order'
          })`,
    )
  }
  const worst = [...r.per_class].filter((c) => c.accuracy !== null).sort((a, b) => a.accuracy! - b.accuracy!).slice(0, 3)
  if (worst.length > 0) lines.push(`lowest per-class accuracy: ${worst.map((c) => `${c.class} ${f(c.accuracy!)}`).join(', ')}`)
  const noHeatmap = heatmapNote(r)
  if (noHeatmap) lines.push(noHeatmap)
  if (r.predicted_outside_classes > 0) lines.push(`${r.predicted_outside_classes} example(s) were predicted as outputs past the dataset's ${r.classes.length} classes`)
  // Another folder's images than the run's: their own folder (eval/<split>-<ckpt>-on-<folder>/), beside the run's own evaluation.
  const own = join(r.run_dir, 'eval', basename(r.out_dir).replace(/-on-.*$/, ''))
  lines.push(r.out_dir === own ? `written to ${r.out_dir}` : `written to ${r.out_dir} (the images of ${r.data_dir ?? r.data_source}; an evaluation of the run's own data goes to ${own})`)
  return lines.join('\n')
}
