// Globals the dashboard's ES modules use: Plotly (a classic script, /static/vendor/plotly.min.js) and the hook
// the tests and the browser benchmark read (window.__netspace). Hand-written; api.d.ts is generated.

/** The part of plotly.js the dashboard calls (its traces and layouts are the server's figure JSON). */
interface PlotlyStatic {
  newPlot(div: HTMLElement, data: object[], layout?: object, config?: object): Promise<HTMLElement>;
  react(div: HTMLElement, data: object[], layout?: object, config?: object): Promise<HTMLElement>;
  purge(div: HTMLElement): void;
  relayout(div: HTMLElement, update: object): Promise<HTMLElement>;
  Plots: { resize(div: HTMLElement): void };
  [name: string]: any;
}

interface Window {
  Plotly?: PlotlyStatic;
  /** timings and hooks for tests and benchmarks (pages/study.js) */
  __netspace?: { timings: object[]; redraw?: () => void; [key: string]: any };
}

/** A div Plotly has drawn into: its event hooks and the figure it holds. */
interface PlotlyHTMLElement extends HTMLElement {
  on(event: string, handler: (ev: any) => void): void;
  removeAllListeners?(event: string): void;
  data?: any[];
  layout?: any;
  _fullLayout?: any;
}
