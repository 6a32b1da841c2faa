// The demo page: starts a backend (WebGPU when the browser has it, else the CPU; ?backend=cpu|webgpu
// picks one), shows which adapter is in use, and switches between the playground and the wt.lab
// panels by the URL's hash (#playground, #lab/<experiment id>), so every panel has its own address.
import * as wt from '../src/index';
import { escapeHtml } from './charts';
import { LabPanel, labExperiments } from './lab-panels';
import { Playground } from './playground';
import { initialState } from './state';
import './style.css';

const state = initialState();
window.__demo = state;

main().catch((e: unknown) => {
  const msg = e instanceof Error ? e.message : String(e);
  console.error(e);
  state.error = msg;
  document.querySelector('#adapter')!.textContent = `failed to start: ${msg}`;
});

async function main(): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('backend') ?? 'auto';
  const select = document.querySelector<HTMLSelectElement>('#backend')!;
  select.value = ['auto', 'webgpu', 'cpu'].includes(wanted) ? wanted : 'auto';
  select.addEventListener('change', () => {
    const url = new URL(location.href);
    url.searchParams.set('backend', select.value);
    location.href = url.toString();
  });

  const info = await wt.init({ backend: select.value as 'auto' | 'webgpu' | 'cpu' });
  const adapter = describeAdapter(info);
  state.backend = { name: info.name, adapter, isFallback: info.isFallback };
  const badge = document.querySelector<HTMLElement>('#adapter')!;
  badge.textContent = `${info.name} · ${adapter}${info.isFallback && info.name === 'webgpu' ? ' · software fallback (slow)' : ''}`;
  badge.title = JSON.stringify(info.adapter ?? { backend: 'cpu' }, null, 1);
  badge.classList.toggle('fallback', info.isFallback);

  new Playground(document.querySelector('#panel-playground')!, state);

  const labRoot = document.querySelector<HTMLElement>('#panel-lab')!;
  const panels = new Map<string, LabPanel>();
  for (const x of labExperiments()) {
    const p = new LabPanel(x, state);
    p.el.hidden = true;
    labRoot.append(p.el);
    panels.set(x.id, p);
  }
  state.lab.experiments = [...panels.keys()];

  const tabs = document.querySelector<HTMLElement>('#tabs')!;
  tabs.innerHTML = `<a href="#playground" data-panel="playground">Playground</a><span class="sep">Lab:</span>` +
    (panels.size ? [...panels.values()].map((p) => `<a href="#lab/${p.experiment.id}" data-panel="lab/${p.experiment.id}" title="${escapeHtml(p.experiment.title)}">${escapeHtml(shortTitle(p.experiment.title))}</a>`).join('')
      : '<span class="note">this build of webtrain has no wt.lab experiments</span>');

  const show = () => {
    const hash = location.hash.replace(/^#/, '');
    const panel = hash.startsWith('lab/') && panels.has(hash.slice(4)) ? hash : 'playground';
    state.panel = panel;
    document.querySelector<HTMLElement>('#panel-playground')!.hidden = panel !== 'playground';
    labRoot.hidden = panel === 'playground';
    for (const [id, p] of panels) p.el.hidden = panel !== `lab/${id}`;
    for (const a of tabs.querySelectorAll<HTMLElement>('a')) a.classList.toggle('active', a.dataset.panel === panel);
  };
  window.addEventListener('hashchange', show);
  show();
  state.ready = true;
}

function describeAdapter(info: wt.BackendInfo): string {
  if (!info.adapter) return 'JavaScript CPU backend';
  const a = info.adapter;
  return [a.description, a.vendor, a.architecture, a.device].filter((s) => s && s.length > 0).join(' / ') || 'unknown adapter';
}

/** A tab's label: the title up to its colon or parenthesis ('Initialization: zeros, …' → 'Initialization'), at most ~36 characters. */
function shortTitle(title: string): string {
  const head = title.split(/[:(]/)[0].trim() || title;
  if (head.length <= 36) return head;
  const cut = head.slice(0, 36);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), 20)).trim()}…`;
}
