/**
 * Resolving an attack reference from the command line: a built-in name or a JSON spec file.
 */
import { readFile, stat } from 'node:fs/promises'
import * as E from 'fp-ts/lib/Either.js'
import * as attacks from '../dsl/attacks.js'
import { decodeAttack, parseAttackJson, validateAttack } from '../dsl/codec.js'
import type { Attack } from '../dsl/types.js'

/** The paper's ten attacks by their CLI names, with their defaults. */
export const BUILT_IN = attacks.BUILT_IN

/** Every attack a name stands for: the paper's ten, then the ported ones (pgd, fgsm, …). */
const NAMED: Readonly<Record<string, () => Attack>> = { ...attacks.BUILT_IN, ...attacks.PORTED }

const NAMES = Object.keys(NAMED).join(', ')

/** The most bytes a spec file may hold (a real one is a few kB; an array of attacks a few more). */
export const MAX_SPEC_FILE_BYTES = 16 * 1024 * 1024

/** The most attacks one spec file may list. */
const MAX_SPECS_PER_FILE = 1000

/** Why a spec path cannot be read, in words, by errno code. */
const UNREADABLE: Readonly<Record<string, string>> = {
  EISDIR: 'is a folder, not a spec file',
  ELOOP: 'too many symbolic links (a link loop?)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENAMETOOLONG: 'the name is too long',
  EIO: 'input/output error',
}

const unreadable = (ref: string, e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return `${ref}: no such file, and not a built-in attack (${NAMES})`
  return `${ref}: cannot read it (${(code && UNREADABLE[code]) ?? code ?? (e as Error).message})`
}

/**
 * A spec file's text, its byte-order mark stripped; Left names the file and what is wrong. Only a
 * regular file is read (a FIFO or a device would block or never end), and at most MAX_SPEC_FILE_BYTES.
 */
export const readSpecFile = async (ref: string): Promise<E.Either<string, string>> => {
  try {
    const info = await stat(ref)
    if (info.isDirectory()) return E.left(`${ref}: is a folder, not a spec file`)
    if (!info.isFile()) return E.left(`${ref}: not a regular file (a FIFO, socket or device), so not a spec file`)
    if (info.size > MAX_SPEC_FILE_BYTES) return E.left(`${ref}: ${info.size} bytes is more than a spec file may hold (${MAX_SPEC_FILE_BYTES}; a real spec is a few kB)`)
    const text = await readFile(ref, 'utf8')
    return E.right(text.startsWith('\uFEFF') ? text.slice(1) : text)
  } catch (e) {
    return E.left(unreadable(ref, e))
  }
}

/** A built-in name, or a path to a JSON spec; Left holds one message per problem, each naming the file. */
export const loadAttack = async (ref: string): Promise<E.Either<ReadonlyArray<string>, Attack>> => {
  const named = NAMED[ref]
  if (named) return E.right(named())
  const text = await readSpecFile(ref)
  if (E.isLeft(text)) return E.left([text.left])
  return E.mapLeft((problems: ReadonlyArray<string>) => problems.map((p) => `${ref}: ${p}`))(parseAttackJson(text.right))
}

/** The numeric options each built-in attack takes from `name:key=value` overrides. */
const OVERRIDABLE: Readonly<Record<string, ReadonlyArray<string>>> = {
  ...Object.fromEntries(Object.entries(attacks.PORTED_OVERRIDES).map(([name, p]) => [name, p.keys])),
  'add-linf': ['eps', 'alpha', 'steps', 'seed'],
  'add-l2': ['eps', 'alpha', 'steps', 'seed'],
  'mult-linf': ['eps', 'alpha', 'steps', 'seed'],
  'mult-l2': ['eps', 'alpha', 'steps', 'seed'],
  roa: ['alpha', 'height', 'width', 'steps', 'seed', 'start'],
  'mult-roa': ['alpha', 'height', 'width', 'steps', 'seed'],
  af: ['alpha', 'width', 'steps', 'seed'],
  'mult-af': ['alpha', 'width', 'steps', 'seed'],
  spa: ['alpha', 'perFrame', 'steps', 'seed', 'start'],
  'mult-spa': ['alpha', 'perFrame', 'steps', 'seed'],
}

const CONSTRUCTORS: Readonly<Record<string, (o: Record<string, number>) => Attack>> = {
  ...Object.fromEntries(Object.entries(attacks.PORTED_OVERRIDES).map(([name, p]) => [name, p.make])),
  'add-linf': attacks.addLinf,
  'add-l2': attacks.addL2,
  'mult-linf': attacks.multLinf,
  'mult-l2': attacks.multL2,
  roa: attacks.roa,
  'mult-roa': attacks.multRoa,
  af: attacks.af,
  'mult-af': attacks.multAf,
  spa: attacks.spa,
  'mult-spa': attacks.multSpa,
}

/**
 * A built-in attack with overrides, `mult-linf:eps=1.04:steps=10`; the attack is renamed after them
 * (`mult-linf eps=1.04 steps=10`) so that variants are told apart in tables.
 */
export const builtInWith = (name: string, overrides: Readonly<Record<string, number>>): E.Either<ReadonlyArray<string>, Attack> => {
  const make = CONSTRUCTORS[name]
  if (!make) return E.left([`"${name}" is not a built-in attack (${NAMES})`])
  const bad = Object.keys(overrides).filter((k) => !OVERRIDABLE[name]!.includes(k))
  if (bad.length > 0) return E.left([`${name}: cannot override ${bad.join(', ')} (it takes ${OVERRIDABLE[name]!.join(', ')})`])
  const attack = make(overrides)
  const suffix = Object.entries(overrides).map(([k, v]) => `${k}=${v}`).join(' ')
  const named = suffix === '' ? attack : { ...attack, name: `${attack.name} ${suffix}` }
  const problems = validateAttack(named)
  return problems.length > 0 ? E.left(problems.map((p) => `${name}: ${p}`)) : E.right(named)
}

/** Parses `key=value` pairs (numbers) separated by `sep`. */
const parseOverrides = (parts: ReadonlyArray<string>, where: string): E.Either<ReadonlyArray<string>, Record<string, number>> => {
  const out: Record<string, number> = {}
  for (const part of parts) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(part)
    const v = m ? Number(m[2]) : NaN
    if (!m || !Number.isFinite(v)) return E.left([`${where}: "${part}" is not key=number`])
    out[m[1]!] = v
  }
  return E.right(out)
}

/**
 * The paper's region sizes — a 30x30 rectangle, a ring of width 10, 100 pixels per frame, all for
 * 112x112 frames — scaled to H x W frames: sides in proportion to the frame's sides, the pixel count in
 * proportion to its area (each at least 1). Only the sizes that differ from the defaults are listed.
 */
export const scaledRegionOverrides = (H: number, W: number): Readonly<Record<string, Readonly<Record<string, number>>>> => {
  const side = (paper: number, n: number) => Math.max(1, Math.round((paper * n) / 112))
  const changed = (o: Record<string, number>, defaults: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== defaults[k]))
  const rect = changed({ height: side(30, H), width: side(30, W) }, { height: 30, width: 30 })
  const ring = changed({ width: side(10, Math.min(H, W)) }, { width: 10 })
  const pixels = changed({ perFrame: Math.max(1, Math.round((100 * H * W) / (112 * 112))) }, { perFrame: 100 })
  return { roa: rect, 'mult-roa': rect, af: ring, 'mult-af': ring, spa: pixels, 'mult-spa': pixels }
}

/** The paper's ten with their regions scaled to H x W frames (the defaults themselves at 112x112). */
export const scaledBuiltIns = (H: number, W: number): Attack[] => {
  const overrides = scaledRegionOverrides(H, W)
  return Object.keys(BUILT_IN).map((name) => {
    const attack = builtInWith(name, overrides[name] ?? {})
    if (E.isLeft(attack)) throw new Error(`scaledBuiltIns(${H}, ${W}): ${attack.left.join('; ')}`)
    return attack.right
  })
}

/**
 * `--attacks`: `all` (the paper's ten), `all-scaled` (the ten with regions scaled to the clips' frame
 * size, `frame`), or a comma-separated list of built-in names (with optional
 * `:key=value` overrides) and JSON spec files (one attack, or an array of attacks). Names must be unique.
 */
export const loadAttackList = async (
  text: string,
  frame?: { readonly H: number; readonly W: number },
  /** The option the list came from, for messages. */
  flag = '--attacks',
): Promise<E.Either<ReadonlyArray<string>, Attack[]>> => {
  if (text === 'all-scaled')
    return frame ? E.right(scaledBuiltIns(frame.H, frame.W)) : E.left([`${flag} all-scaled: the frame size is not known here`])
  const refs = text === 'all' ? Object.keys(BUILT_IN) : text.split(',').map((r) => r.trim()).filter((r) => r !== '')
  if (refs.length === 0) return E.left([`${flag}: no attack given`])
  const out: Attack[] = []
  const problems: string[] = []
  for (const ref of refs) {
    const [name, ...parts] = ref.split(':')
    if (CONSTRUCTORS[name!]) {
      const overrides = parseOverrides(parts, ref)
      const attack = E.isLeft(overrides) ? overrides : builtInWith(name!, overrides.right)
      if (E.isLeft(attack)) problems.push(...attack.left)
      else out.push(attack.right)
      continue
    }
    const loaded = await loadSpecs(ref)
    if (E.isLeft(loaded)) problems.push(...loaded.left)
    else out.push(...loaded.right)
  }
  const names = out.map((a) => a.name)
  const twice = [...new Set(names.filter((n, k) => names.indexOf(n) !== k))]
  if (twice.length > 0) problems.push(`${flag}: attack names must be unique in a run, "${twice.join('", "')}" appear more than once (rename them in their specs)`)
  return problems.length > 0 ? E.left(problems) : E.right(out)
}

/** A spec file holding one attack or an array of attacks. */
const loadSpecs = async (ref: string): Promise<E.Either<ReadonlyArray<string>, Attack[]>> => {
  const text = await readSpecFile(ref)
  if (E.isLeft(text)) return E.left([text.left])
  let json: unknown
  try {
    json = JSON.parse(text.right)
  } catch (e) {
    return E.left([`${ref}: not valid JSON: ${(e as Error).message}`])
  }
  const items = Array.isArray(json) ? json : [json]
  if (items.length === 0) return E.left([`${ref}: an empty array; expected an attack, or an array of attacks`])
  if (items.length > MAX_SPECS_PER_FILE) return E.left([`${ref}: ${items.length} attacks is more than a spec file may hold (${MAX_SPECS_PER_FILE})`])
  const problems: string[] = []
  const out: Attack[] = []
  items.forEach((item, k) => {
    const decoded = decodeAttack(item)
    const where = Array.isArray(json) ? `${ref}[${k}]` : ref
    if (E.isLeft(decoded)) problems.push(...decoded.left.map((p) => `${where}: ${p}`))
    else out.push(decoded.right)
  })
  return problems.length > 0 ? E.left(problems) : E.right(out)
}

/**
 * `--sweep key=v1,v2,…`: every attack of the list (built-ins only) once per value, renamed
 * `<name> key=v`.
 */
export const sweepAttacks = (names: ReadonlyArray<string>, sweep: string): E.Either<ReadonlyArray<string>, { parameter: string; attacks: { base: string; value: number; attack: Attack }[] }> => {
  const m = /^([A-Za-z]+)=(.+)$/.exec(sweep)
  const values = m ? m[2]!.split(',').map(Number) : []
  if (!m || values.length === 0 || !values.every(Number.isFinite)) return E.left([`--sweep must be key=v1,v2,… (e.g. eps=0.01,0.02,0.04), got "${sweep}"`])
  const parameter = m[1]!
  const problems: string[] = []
  const out: { base: string; value: number; attack: Attack }[] = []
  for (const base of names)
    for (const value of values) {
      const attack = builtInWith(base, { [parameter]: value })
      if (E.isLeft(attack)) problems.push(...attack.left)
      else out.push({ base, value, attack: attack.right })
    }
  return problems.length > 0 ? E.left([...new Set(problems)]) : E.right({ parameter, attacks: out })
}
