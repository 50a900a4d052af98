import { html } from '../html';
import type { SafeHtml } from '../html';
import type { Loaded, ModelSummary } from './model-data';
import { MODEL_PAGE_STYLE, badge } from './render-model-page';
import { modelPath } from './paths';
import { raw } from '../html';

function cell<T>(loaded: Loaded<T>, render: (value: T) => SafeHtml | string): SafeHtml | string {
  return loaded.ok ? render(loaded.value) : html`<span class="problem">${loaded.error}</span>`;
}

/** The body of `/models`: each model with its champion, last cycle's outcome and rollout. */
export function renderModels(models: ModelSummary[]): string {
  return html`<style>
      ${raw(MODEL_PAGE_STYLE)}
    </style>
    <h1>Models</h1>
    ${
      models.length === 0
        ? html`<p>The store holds no model yet (<code>loopkeeper simulate</code> seeds one).</p>`
        : html`<table class="models">
            <thead>
              <tr>
                <th>Model</th>
                <th>Champion</th>
                <th>Last cycle</th>
                <th>Rollout</th>
              </tr>
            </thead>
            <tbody>
              ${models.map(
                (m) =>
                  html`<tr data-model="${m.modelId}">
                    <td><a href="${modelPath(m.modelId)}">${m.modelId}</a></td>
                    <td>${cell(m.champion, (c) => html`<code>${c ?? '–'}</code>`)}</td>
                    <td>
                      ${cell(m.lastCycle, (c) => (c ? html`${badge(c.verdict.outcome)} <span class="meta">${c.workflowId}</span> ${c.verdict.detail}` : 'none yet'))}
                    </td>
                    <td>${cell(m.rollout, (r) => r)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`.value;
}
