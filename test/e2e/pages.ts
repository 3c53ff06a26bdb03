/** HTML pages as a browser session sees them, and what the scenarios read from them: POST forms and links. */

/** A page as a browser session sees it (after redirects). */
export interface Page {
  readonly status: number;
  readonly url: string;
  readonly text: string;
}

/** A POST form of a page: its absolute action and the fields that carry a value (hidden inputs, _xsrf). */
export interface Form {
  readonly action: string;
  readonly fields: Record<string, string>;
}

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;|&#x27;/g, "'");

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, "i").exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? "") : undefined;
};

/** The POST forms of a page. JupyterHub puts the XSRF token in a hidden field or in the action URL. */
export function formsOf(page: Page): Form[] {
  const forms: Form[] = [];
  for (const m of page.text.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const tag = m[1]!;
    if ((attr(tag, "method") ?? "get").toLowerCase() !== "post") continue;
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], "name");
      const value = attr(input[0], "value");
      if (name && value !== undefined) fields[name] = value;
    }
    forms.push({ action: new URL(attr(tag, "action") || page.url, page.url).toString(), fields });
  }
  return forms;
}

/** Absolute URLs of the links (href) of a page. */
export function linksOf(page: Page): string[] {
  return [...page.text.matchAll(/\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)].map((m) =>
    new URL(decodeEntities(m[1] ?? m[2] ?? ""), page.url).toString(),
  );
}
