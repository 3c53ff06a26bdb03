/**
 * Acknowledgements of the risks a change carries: `--accept data-loss,logout` on the command line,
 * or a line `preview-ack: data-loss, logout` in the pull request's text, which the CI hands over in
 * an environment variable (PREVIEW_PR_BODY). Pure.
 */
import { type Risk, risks } from "./effects";

/** The environment variable that holds the pull request's text, where CI jobs put it. */
export const prBodyVariable = "PREVIEW_PR_BODY";

/** Acknowledged risks, and words that are no risk (a typo must not pass for an acknowledgement). */
export interface Acknowledgements {
  readonly accepted: ReadonlySet<Risk>;
  readonly unknown: readonly string[];
}

const isRisk = (word: string): word is Risk => (risks as readonly string[]).includes(word);

function parseList(text: string, accepted: Set<Risk>, unknown: string[]): void {
  for (const word of text.split(/[\s,]+/).filter(Boolean)) {
    if (isRisk(word)) accepted.add(word);
    else unknown.push(word);
  }
}

/** Reads the `--accept` lists and the `preview-ack:` lines of a pull request's text. */
export function acknowledgements(acceptLists: readonly string[], prBody = ""): Acknowledgements {
  const accepted = new Set<Risk>();
  const unknown: string[] = [];
  for (const list of acceptLists) parseList(list, accepted, unknown);
  for (const match of prBody.matchAll(/^[ \t>*-]*`?preview-ack:[ \t]*([^\r\n`]*)/gim)) parseList(match[1] ?? "", accepted, unknown);
  return { accepted, unknown };
}
