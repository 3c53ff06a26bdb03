/**
 * Sign-in flows in a real browser (playwright-core pages) from the hub's login page with several
 * providers: GitHub through the fake provider's authorize form, and a native account's sign-up and
 * login. The browser is launched by the scenario (10-oauth.test.ts loads playwright-core lazily).
 */
import type { Page } from "playwright-core";

/** The user the page's cookies log in as; a page navigation needs no XSRF token (a fetch from the page would). */
export async function browserUser(page: Page, hubUrl: string): Promise<string | undefined> {
  await page.goto(`${hubUrl}/hub/api/user`);
  return JSON.parse((await page.textContent("body")) ?? "{}").name as string | undefined;
}

/** "Sign in with GitHub", the fake provider's authorize form filled with `login`, back at the hub. */
export async function githubInBrowser(page: Page, hubUrl: string, login: string): Promise<void> {
  await page.goto(`${hubUrl}/hub/login`);
  await page.getByText("Sign in with GitHub").click();
  await page.waitForURL(/fake-oauth:8080\/github\/login\/oauth\/authorize/);
  await page.fill("#login", login);
  await page.click("#authorize");
  await page.waitForURL((u) => u.toString().startsWith(`${hubUrl}/`) && !u.pathname.includes("oauth"));
}

/** "Sign in with Native", then "Sign up", until the page says the admin must authorize the account. */
export async function nativeSignUpInBrowser(page: Page, hubUrl: string, name: string, password: string): Promise<void> {
  await page.goto(`${hubUrl}/hub/login`);
  await page.getByText("Sign in with Native").click();
  await page.waitForURL(/\/hub\/native\/login/);
  await page.getByRole("link", { name: "Sign up" }).click();
  await page.waitForURL(/\/hub\/native\/signup/);
  await page.fill("#username_input", name);
  await page.fill("#password_input", password);
  await page.fill("#password_confirmation_input", password);
  await page.click("#signup_submit");
  await page.getByText("Your information has been sent to the admin").waitFor();
}

/** The native login form, until the browser leaves the login page. */
export async function nativeLoginInBrowser(page: Page, hubUrl: string, name: string, password: string): Promise<void> {
  await page.goto(`${hubUrl}/hub/native/login`);
  await page.fill("#username_input", name);
  await page.fill("#password_input", password);
  await page.click("#login_submit");
  await page.waitForURL((u) => !u.pathname.endsWith("/login"));
}
