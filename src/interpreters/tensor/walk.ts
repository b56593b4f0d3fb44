/**
 * The searched rectangles an attack uses, which must be placed before it runs.
 *
 * @since 0.2.0
 */
import { attackRegions } from '../../dsl/walk.js'
import type { Attack } from '../../dsl/types.js'
import { searchedIn } from '../regions.js'

/** Every searched rectangle the attack's init and steps use (in order, repeats included). */
export const searchedRects = (attack: Attack) => attackRegions(attack).flatMap(searchedIn)
