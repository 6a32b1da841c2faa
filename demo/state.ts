// window.__demo: what the page is doing, as plain JSON-able data, for the end-to-end test
// (test/demo.test.ts) and for anyone poking at the page from the console.

export interface PlaygroundState {
  status: 'idle' | 'training' | 'paused' | 'done' | 'error';
  /** Epochs completed in this session. */
  epoch: number;
  /** Optimizer steps completed in this session. */
  step: number;
  history: { epoch: number; trainLoss: number; validLoss?: number; trainAccuracy?: number; validAccuracy?: number; lr: number }[];
  /** How many times the decision boundary and the histograms were redrawn. */
  boundaryDraws: number;
  histogramDraws: number;
  /** wt.memory().numTensors when this state was last updated (a leak shows as growth after Reset). */
  liveTensors: number;
  settings?: Record<string, unknown>;
  error?: string;
}

export interface LabState {
  /** Experiment ids in the registry, in tab order. */
  experiments: string[];
  running: string | null;
  /** The last finished run: which experiment, how long, and what its result held. */
  last?: { id: string; seconds: number; plots: number; heatmaps: number; tableRows: number; summary: Record<string, number | string> };
  error?: string;
}

export interface DemoState {
  /** Set once wt.init() has answered and the panels exist. */
  ready: boolean;
  backend?: { name: string; adapter: string; isFallback: boolean };
  /** The panel on screen: 'playground' or 'lab/<id>'. */
  panel: string;
  playground: PlaygroundState;
  lab: LabState;
  error?: string;
}

declare global {
  interface Window {
    __demo?: DemoState;
  }
}

export function initialState(): DemoState {
  return {
    ready: false,
    panel: 'playground',
    playground: { status: 'idle', epoch: 0, step: 0, history: [], boundaryDraws: 0, histogramDraws: 0, liveTensors: 0 },
    lab: { experiments: [], running: null },
  };
}
