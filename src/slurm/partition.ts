/**
 * A partition's time limit as the controller has it (`scontrol show partition`), so that a sweep
 * does not ask for more: with Slurm's default `EnforcePartLimits=NO` such a job is queued and then
 * waits forever ("PartitionTimeLimit").
 */
import {timeSeconds} from '../config/launcher.js'
import {slurm} from './cli.js'

export interface PartitionLimit {
  /** The partition's name (the cluster's default partition where the launcher names none). */
  name: string
  /** Its MaxTime in seconds; undefined when unlimited. */
  seconds?: number
  /** MaxTime as Slurm writes it, for messages. */
  text: string
}

/** The time limit of `partition`, or of the default partition; undefined where scontrol does not say (no such partition: sbatch --test-only reports that). */
export function partitionLimit(partition?: string): PartitionLimit | undefined {
  const reply = slurm('scontrol', ['show', 'partition', '--oneliner', ...(partition ? [partition] : [])])
  if (reply.code !== 0) return undefined
  const lines = reply.stdout.split('\n').filter((l) => l.includes('PartitionName='))
  const line = partition ? lines[0] : lines.find((l) => /\bDefault=YES\b/.test(l))
  const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(line ?? '')?.[1]
  const name = field('PartitionName')
  const text = field('MaxTime')
  if (!name || !text) return undefined
  return {name, text, seconds: timeSeconds(text)}
}
