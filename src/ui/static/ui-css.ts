/** The web app's stylesheet (served as /static/ui.css). */
export const UI_CSS = `
:root { --fg: #1d232a; --muted: #67707a; --line: #d8dde3; --bg: #f6f7f9; --accent: #2458b3; --ok: #1f7a3a; --err: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
nav { display: flex; align-items: center; gap: 1rem; flex: 1; }
nav a { color: var(--accent); text-decoration: none; }
nav a[aria-current="page"] { font-weight: 600; text-decoration: underline; }
nav .who { margin-left: auto; }
main { max-width: 1100px; margin: 1.2rem auto; padding: 0 1.2rem; display: block; }
h1 { font-size: 1.4rem; margin: .2rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
.narrow { max-width: 420px; margin: 3rem auto; }
.muted { color: var(--muted); }
.small { font-size: .85rem; }
.flash { padding: .5rem .8rem; border-radius: 4px; margin: .4rem 0; }
.flash.ok { background: #e6f4ea; color: var(--ok); }
.flash.error { background: #fdecea; color: var(--err); }
.flash.info { background: #e8f0fe; color: var(--accent); }
.tag { display: inline-block; font-size: .75rem; padding: 0 .4rem; border-radius: 3px; background: #fff4e5; border: 1px solid #f0c36d; margin-left: .3rem; }
table { border-collapse: collapse; margin: .6rem 0; }
th, td { text-align: left; padding: .3rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td { word-break: break-word; }
.features td, .slices td { white-space: pre-wrap; }
td.missing { color: var(--muted); font-style: italic; }
table.grid th { background: var(--bg); }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: .8rem 0; }
.choice { display: inline-flex; align-items: center; gap: .3rem; margin-right: 1.2rem; cursor: pointer; }
kbd { display: inline-block; min-width: 1.3em; padding: 0 .3em; border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 3px; background: #fff; font: .85em ui-monospace, monospace; text-align: center; }
textarea, input[type="password"], input[type="text"] { width: 100%; padding: .4rem; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
label.note { display: block; margin: .6rem 0; }
button { font: inherit; padding: .4rem .9rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary, nav button { background: #fff; color: var(--accent); }
form.inline { display: inline; }
.row { display: flex; gap: .8rem; margin-top: .6rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.error { color: var(--err); }
ul.queues li { margin: .3rem 0; }
`;
