import htm from 'htm'
import { h } from 'preact'

/**
 * Tagged-template markup bound to Preact: no JSX step, and every `${value}` is a child or an
 * attribute value, never parsed as HTML, so data cannot become markup (Preact sets text and
 * attributes through DOM properties, never from HTML strings).
 */
export const html = htm.bind(h)
