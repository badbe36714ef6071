/**
 * Settings a valid spec gives that change nothing in its run — a mixup that mixes no batch, an
 * average that is the weights, a transform that applies to no image, early stopping that cannot
 * stop — said as warnings (`mixture validate`, and at the start of a run), not refused: a sweep may
 * take such a value on purpose (`prob=0,0.5`), and the run is still the one the spec describes.
 * Each is a Problem at the key's line, in the words of what to write instead.
 */
import type {Problem} from './errors.js'
import {isObject, originOf, type JsonObject, type LoadedSpec} from './load.js'
import {inFileOrder} from './validate.js'
import {mixesAnything, type ResolvedSpec} from '../schema/spec.js'
import {transformSpecs} from '../data/pipeline.js'
import {magnitudeClamp, parseTimmConfig, type TimmRandAugmentConfig} from '../data/timm-rand-augment.js'

/** The warnings of `spec` (resolved), each at the line that set the key, in the order a reader meets them (as validate's problems). */
export function idleSettings(spec: ResolvedSpec, loaded: Pick<LoadedSpec, 'spec' | 'origins' | 'files' | 'overrides'>): Problem[] {
  return inFileOrder(idleFindings(spec, loaded), loaded)
}

function idleFindings(spec: ResolvedSpec, {spec: written, origins}: Pick<LoadedSpec, 'spec' | 'origins'>): Problem[] {
  const found: Problem[] = []
  const warn = (path: string, message: string) => found.push({origin: originOf(origins, path), path, message})
  const {train} = spec
  const mixup = train.mixup
  // Both alphas 0 is timm's way of turning mixup off (a sweep's baseline): nothing to warn of.
  if (mixup && mixesAnything(mixup)) {
    const cutmixOn = mixup.cutmix_alpha > 0 || mixup.cutmix_minmax !== undefined
    if (mixup.prob === 0) warn('train.mixup.prob', 'is 0, so no batch is mixed: leave train.mixup out (or set prob above 0)')
    else if (mixup.mixup_alpha > 0 && cutmixOn && mixup.switch_prob === 0) warn('train.mixup.switch_prob', 'is 0, so every mixed batch is a mixup one and the cutmix settings are never used: raise switch_prob, or set cutmix_alpha 0')
    else if (mixup.mixup_alpha > 0 && cutmixOn && mixup.switch_prob === 1) warn('train.mixup.switch_prob', 'is 1, so every mixed batch is a cutmix one and mixup_alpha is never used: lower switch_prob, or set mixup_alpha 0')
    else if (switchProbWritten(written) && !(mixup.mixup_alpha > 0 && cutmixOn)) warn('train.mixup.switch_prob', `chooses between mixup and cutmix only when both are on, and ${cutmixOn ? 'mixup_alpha is 0' : 'cutmix is off'}: every mixed batch is a ${cutmixOn ? 'cutmix' : 'mixup'} one whatever it is; leave switch_prob out, or turn ${cutmixOn ? 'mixup on (mixup_alpha 0.8)' : 'cutmix on (cutmix_alpha 1.0)'}`)
    if (mixup.off_epoch !== undefined && mixup.off_epoch >= train.epochs) warn('train.mixup.off_epoch', `is ${mixup.off_epoch}, and the run has ${train.epochs} epoch(s): mixing never stops (it stops after epoch off_epoch); lower it, or leave it out`)
    if (train.batch_size === 1) warn('train.batch_size', 'is 1, so each image is mixed with itself (example i with example B − 1 − i of its batch) and nothing changes: give batches of two images or more')
  }
  if (train.ema?.decay === 0) warn('train.ema.decay', 'is 0, so the average is the weights themselves: leave train.ema out (or give a decay such as 0.9998)')
  const stopping = train.early_stopping
  if (stopping && stopping.patience >= train.epochs) warn('train.early_stopping.patience', `is ${stopping.patience}, and the run has ${train.epochs} epoch(s): it can never stop the run early; lower patience, or leave early_stopping out`)
  const augment = spec.data.augment
  if (augment && !Array.isArray(augment) && transformSpecs(augment).length === 0) warn('data.augment', 'turns hflip, brightness and hue all off, so no image is augmented: write data.augment: false for that (or turn one on)')
  transformSpecs(spec.data.augment).forEach((t, i) => {
    const at = Array.isArray(spec.data.augment) ? `data.augment[${i}]` : 'data.augment'
    if (t.p === 0) warn(`${at}.p`, `is 0, so ${t.type} applies to no image: remove it from the list (or set p above 0)`)
    if (t.type === 'rand_augment' && t.num_ops === 0) warn(`${at}.num_ops`, 'is 0, so rand_augment applies no op: remove it from the list (or set num_ops above 0)')
    if (t.type === 'random_rotation' && [t.degrees].flat().every((d) => d === 0)) warn(`${at}.degrees`, 'is 0, so random_rotation turns no image: remove it from the list (or give degrees)')
    if (t.type === 'color_jitter' && ['brightness', 'contrast', 'saturation', 'hue'].every((k) => t[k] === undefined || t[k] === 0)) warn(at, 'sets none of brightness, contrast, saturation and hue above 0, so color_jitter changes no image: give one, or remove it from the list')
    if (t.type === 'timm_rand_augment' && typeof t.config === 'string') {
      const config = timmConfigOrUndefined(t.config)
      if (config && (config.prob === 0 || config.numLayers === 0)) warn(`${at}.config`, `'${t.config}' applies no op (${config.prob === 0 ? 'p0: each op with probability 0' : 'n0: no op per image'}): remove it from the list, or give p and n above 0`)
      else if (config && magnitudeAlwaysClamped(config)) {
        const clamp = magnitudeClamp(config)
        warn(`${at}.config`, `'${t.config}' asks for magnitude ${config.magnitude}, above the clamp at ${clamp} (mmax${config.magnitudeMax ? '' : ', default 10'}): every op runs at magnitude ${clamp}, as in timm, so m${config.magnitude} does what m${clamp} does; give m${clamp} or less, or raise mmax`)
      }
    }
  })
  return found
}

/** Whether the spec as written (extends and --set applied, before defaults) gives train.mixup.switch_prob. */
function switchProbWritten(written: JsonObject): boolean {
  const mixup = isObject(written.train) ? written.train.mixup : undefined
  return isObject(mixup) && mixup.switch_prob !== undefined
}

/** Whether every magnitude `config` draws lands above its clamp: m above it with no noise, or with Gaussian noise 4 std or more below m (mstd > 100 draws uniformly from [0, m]). */
function magnitudeAlwaysClamped(config: TimmRandAugmentConfig): boolean {
  const std = Math.max(0, config.magnitudeStd)
  return std <= 100 && config.magnitude - 4 * std > magnitudeClamp(config)
}

/** timm's RandAugment string parsed, or undefined where it is not valid (validation says so). */
function timmConfigOrUndefined(config: string): TimmRandAugmentConfig | undefined {
  try {
    return parseTimmConfig(config)
  } catch {
    return undefined
  }
}

/**
 * train.ema without warmup whose average spans (about 1 / (1 − decay) steps) more than the run's
 * optimizer steps: the average then holds mostly the first weights (timm's default 0.9998 spans
 * 5,000). Said when the run knows its steps (fit.ts), with what to do; undefined otherwise.
 */
export function averageSpanWarning(spec: ResolvedSpec, optimizerSteps: number): string | undefined {
  const ema = spec.train.ema
  if (!ema || ema.warmup || ema.decay === 0) return undefined
  const span = 1 / (1 - ema.decay)
  if (span <= optimizerSteps) return undefined
  return `train.ema.decay ${ema.decay} averages over about ${Math.round(span).toLocaleString('en-US')} steps, and the run has ${optimizerSteps.toLocaleString('en-US')}: its average holds mostly the first weights. Add warmup: true (timm's --model-ema-warmup), or lower the decay (about 1 − 1/steps)`
}
