// Lint of the TypeScript program, its scripts and tests (`npm run lint`, part of `npm test`).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";
import { createNodeResolver, importX } from "eslint-plugin-import-x";

export default tseslint.config(
  { ignores: ["node_modules/**", ".venv/**", "test-artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // formatting is Prettier's job (`npm run format`; `npm run lint` checks it)
  prettier,
  {
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".js", ".mjs"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".mjs", ".json"] })],
    },
    rules: {
      // the shape of the code: modules depend one way, never in a circle
      "import-x/no-cycle": "error",
      // imports used only as types say so (they vanish from the emitted JavaScript); `typeof import()` stays
      // allowed for modules loaded lazily (the dynamic provider, the browser tests)
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports", disallowTypeAnnotations: false }],
      // names that start with _ are deliberately unused (destructured-away secrets)
      "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
      // the config rules match control characters on purpose, to refuse them
      "no-control-regex": "off",
    },
  },
  {
    // the dynamic provider's code is serialized into the stack state and loads its modules itself;
    // the unit test's program runner imports the program only after installing the mocks
    files: ["components/leftovers.ts", "test/unit/run-program.ts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // tests, test tooling and the reference generator walk JSON (hub and Docker APIs, JSON Schema)
    // without declaring every shape
    files: ["test/**/*.ts", "bench/**/*.ts", "generate/config-reference.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
