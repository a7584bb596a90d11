// The studio canvas: the image fitted to the view, zoom and pan, a before/after split, a mask brush
// and crop/expand previews. Everything that follows the pointer runs here, in the browser; only
// finished brush strokes (a few points in image pixels) travel to the server.
export default {
  template: `
    <div ref="box" class="pixora-canvas" :class="{ 'is-panning': panning, 'is-painting': mode === 'paint' }"
         @wheel.prevent="onWheel" @pointerdown="onDown" @pointermove="onMove" @pointerup="onUp"
         @pointercancel="onUp" @pointerleave="onLeave" @dblclick="fit">
      <div v-if="!src" class="pixora-canvas-empty"><slot></slot></div>
      <div v-else ref="stage" class="pixora-stage" :style="stageStyle">
        <div v-if="checker" class="pixora-checker pixora-stage-layer"></div>
        <img v-if="previewSrc && !loaded" class="pixora-stage-layer pixora-preview" :src="previewSrc" draggable="false" />
        <img ref="after" class="pixora-stage-layer" :src="src" draggable="false" data-testid="canvas-after"
             @load="onLoaded" :style="{ opacity: loaded ? 1 : 0 }" />
        <img v-if="before && (comparing || holding)" class="pixora-stage-layer pixora-before" :src="before"
             draggable="false" data-testid="canvas-before" :style="beforeStyle" />
        <canvas v-show="mode === 'paint'" ref="mask" class="pixora-stage-layer pixora-mask"></canvas>
        <svg v-if="overlay && !comparing && !holding" class="pixora-overlay" :viewBox="overlayViewBox"
             :style="overlayStyle" data-testid="canvas-frame">
          <path :d="overlayShade" fill="rgba(0,0,0,.45)" fill-rule="evenodd" />
          <rect :x="overlayRect.x" :y="overlayRect.y" :width="overlayRect.w" :height="overlayRect.h"
                fill="none" stroke="#fff" :stroke-width="2 / scale" :stroke-dasharray="(8 / scale) + ' ' + (6 / scale)" />
        </svg>
      </div>
      <div v-if="src && before && comparing && !holding" class="pixora-split" :style="splitStyle"
           data-testid="compare-handle" :data-split="split.toFixed(3)">
        <div class="pixora-split-knob"><span>‹</span><span>›</span></div>
      </div>
      <div v-if="src && before && comparing && !holding" class="pixora-split-labels">
        <span class="pixora-tag" :style="{ left: '12px' }">Before</span>
        <span class="pixora-tag" :style="{ right: '12px' }">After</span>
      </div>
      <div v-if="holding" class="pixora-tag pixora-tag-top">Original</div>
      <div v-if="mode === 'paint' && cursor" class="pixora-brush" :style="brushStyle"></div>
      <div v-if="src && !loaded" class="pixora-canvas-loading"><div class="pixora-spinner"></div></div>
      <div v-if="src" class="pixora-zoom" data-testid="zoom-label">{{ Math.round(scale * 100) }}%</div>
    </div>
  `,
  props: {
    src: { type: String, default: "" },
    previewSrc: { type: String, default: "" },
    before: { type: String, default: "" },
    width: { type: Number, default: 0 },
    height: { type: Number, default: 0 },
    checker: { type: Boolean, default: false },
    comparing: { type: Boolean, default: false },
    mode: { type: String, default: "view" }, // view | paint
    brushSize: { type: Number, default: 40 }, // screen pixels
    erase: { type: Boolean, default: false },
    overlay: { type: Object, default: null }, // {x, y, w, h} in image pixels; may extend past the image
    holdKey: { type: String, default: "b" },
  },
  data() {
    return {
      scale: 1, tx: 0, ty: 0, split: 0.5, loaded: false, holding: false, panning: false,
      drag: null, cursor: null, strokes: [], current: null, spaceDown: false,
    };
  },
  computed: {
    stageStyle() {
      return {
        width: this.width + "px", height: this.height + "px",
        transform: `translate(${this.tx}px, ${this.ty}px) scale(${this.scale})`,
      };
    },
    splitX() { return this.tx + this.scale * this.width * this.split; },
    splitStyle() {
      return { left: this.splitX + "px", top: Math.max(0, this.ty) + "px",
               height: Math.min(this.scale * this.height, this.scale * this.height + this.ty) + "px" };
    },
    beforeStyle() {
      if (this.holding) return {};
      return { clipPath: `inset(0 ${(100 - this.split * 100).toFixed(3)}% 0 0)` };
    },
    brushStyle() {
      const d = this.brushSize;
      return { width: d + "px", height: d + "px", left: this.cursor.x - d / 2 + "px", top: this.cursor.y - d / 2 + "px",
               borderColor: this.erase ? "#fff" : "#f472b6" };
    },
    overlayRect() { return this.overlay || { x: 0, y: 0, w: 0, h: 0 }; },
    overlayBounds() {
      const r = this.overlayRect;
      const x0 = Math.min(0, r.x), y0 = Math.min(0, r.y);
      const x1 = Math.max(this.width, r.x + r.w), y1 = Math.max(this.height, r.y + r.h);
      return { x0, y0, x1, y1 };
    },
    overlayViewBox() {
      const b = this.overlayBounds;
      return `${b.x0} ${b.y0} ${b.x1 - b.x0} ${b.y1 - b.y0}`;
    },
    overlayStyle() {
      const b = this.overlayBounds;
      return { left: b.x0 + "px", top: b.y0 + "px", width: b.x1 - b.x0 + "px", height: b.y1 - b.y0 + "px" };
    },
    overlayShade() {
      // Dim everything outside the box (a crop) or mark the new area (an expanded canvas).
      const b = this.overlayBounds, r = this.overlayRect;
      return `M${b.x0},${b.y0}H${b.x1}V${b.y1}H${b.x0}Z M${r.x},${r.y}V${r.y + r.h}H${r.x + r.w}V${r.y}Z`;
    },
  },
  watch: {
    src() { this.loaded = false; },
    width() { this.$nextTick(() => { this.fit(); this.resetMask(); }); },
    height() { this.$nextTick(() => { this.fit(); this.resetMask(); }); },
    overlay() { this.$nextTick(() => this.fit()); },
    mode() { this.$nextTick(() => this.resetMask(true)); },
  },
  mounted() {
    this.observer = new ResizeObserver(() => this.fit());
    this.observer.observe(this.$refs.box);
    this.keydown = (e) => this.onKey(e, true);
    this.keyup = (e) => this.onKey(e, false);
    window.addEventListener("keydown", this.keydown);
    window.addEventListener("keyup", this.keyup);
    this.$nextTick(() => { this.fit(); this.resetMask(); });
  },
  unmounted() {
    this.observer.disconnect();
    window.removeEventListener("keydown", this.keydown);
    window.removeEventListener("keyup", this.keyup);
  },
  methods: {
    typing(e) {
      const t = e.target;
      return t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName));
    },
    onKey(e, down) {
      if (this.typing(e)) return;
      if (e.key === " ") { this.spaceDown = down; if (down) e.preventDefault(); return; }
      if (e.key.toLowerCase() === this.holdKey && !e.ctrlKey && !e.metaKey && !e.altKey) {
        if (this.before) this.holding = down;
      }
      if (down && e.key === "Escape") this.fit();
      if (down && (e.key === "+" || e.key === "=") && !e.ctrlKey) this.zoomBy(1.25);
      if (down && e.key === "-" && !e.ctrlKey) this.zoomBy(0.8);
      if (down && e.key === "0" && !e.ctrlKey) this.fit();
    },
    fit() {
      const box = this.$refs.box;
      if (!box || !this.width || !this.height) return;
      let x0 = 0, y0 = 0, x1 = this.width, y1 = this.height;
      if (this.overlay) { const b = this.overlayBounds; x0 = b.x0; y0 = b.y0; x1 = b.x1; y1 = b.y1; }
      const pad = box.clientWidth < 600 ? 12 : 32;
      const cw = Math.max(box.clientWidth - 2 * pad, 10), ch = Math.max(box.clientHeight - 2 * pad, 10);
      this.scale = Math.min(cw / (x1 - x0), ch / (y1 - y0), 4);
      this.tx = (box.clientWidth - (x1 - x0) * this.scale) / 2 - x0 * this.scale;
      this.ty = (box.clientHeight - (y1 - y0) * this.scale) / 2 - y0 * this.scale;
    },
    zoomBy(factor, cx, cy) {
      const box = this.$refs.box;
      if (!box) return;
      if (cx === undefined) { cx = box.clientWidth / 2; cy = box.clientHeight / 2; }
      const next = Math.min(Math.max(this.scale * factor, 0.02), 16);
      const k = next / this.scale;
      this.tx = cx - (cx - this.tx) * k;
      this.ty = cy - (cy - this.ty) * k;
      this.scale = next;
    },
    zoomIn() { this.zoomBy(1.25); },
    zoomOut() { this.zoomBy(0.8); },
    actualSize() { this.zoomBy(1 / this.scale); },
    local(e) {
      const r = this.$refs.box.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    },
    toImage(p) { return { x: (p.x - this.tx) / this.scale, y: (p.y - this.ty) / this.scale }; },
    onWheel(e) {
      const p = this.local(e);
      this.zoomBy(Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.0015)), p.x, p.y);
    },
    onDown(e) {
      if (!this.src) return;
      const p = this.local(e);
      this.$refs.box.setPointerCapture(e.pointerId);
      const nearSplit = this.before && this.comparing && !this.holding && Math.abs(p.x - this.splitX) < 24;
      if (nearSplit) { this.drag = { kind: "split" }; this.setSplit(p.x); return; }
      if (this.mode === "paint" && e.button === 0 && !this.spaceDown) {
        const q = this.toImage(p);
        this.current = { points: [[q.x, q.y]], size: this.brushSize / this.scale, erase: this.erase };
        this.drawStroke(this.current, true);
        return;
      }
      this.drag = { kind: "pan", x: p.x, y: p.y, tx: this.tx, ty: this.ty };
      this.panning = true;
    },
    onMove(e) {
      const p = this.local(e);
      if (this.mode === "paint") this.cursor = p;
      if (this.current) {
        const q = this.toImage(p);
        const last = this.current.points[this.current.points.length - 1];
        // Keep strokes small: skip points closer than a fifth of the brush.
        if (Math.hypot(q.x - last[0], q.y - last[1]) >= Math.max(1, this.current.size / 5)) {
          this.current.points.push([q.x, q.y]);
          this.drawSegment(this.current, last, [q.x, q.y]);
        }
        return;
      }
      if (!this.drag) return;
      if (this.drag.kind === "split") this.setSplit(p.x);
      else { this.tx = this.drag.tx + p.x - this.drag.x; this.ty = this.drag.ty + p.y - this.drag.y; }
    },
    onUp(e) {
      if (this.current) {
        const stroke = {
          points: this.current.points.map(([x, y]) => [Math.round(x), Math.round(y)]),
          size: Math.max(1, Math.round(this.current.size)), erase: this.current.erase,
        };
        this.strokes.push(stroke);
        this.current = null;
        this.$emit("stroke", stroke);
      }
      if (this.drag && this.drag.kind === "split") this.$emit("split", { split: this.split });
      this.drag = null;
      this.panning = false;
    },
    onLeave() { this.cursor = null; },
    setSplit(x) {
      const w = this.scale * this.width;
      this.split = Math.min(Math.max((x - this.tx) / w, 0), 1);
    },
    setSplitFraction(f) { this.split = Math.min(Math.max(f, 0), 1); },
    resetMask(keep) {
      const c = this.$refs.mask;
      if (!c || !this.width) return;
      const k = Math.min(1, 2048 / Math.max(this.width, this.height));
      if (!keep || c.width !== Math.round(this.width * k)) {
        c.width = Math.round(this.width * k);
        c.height = Math.round(this.height * k);
        if (!keep) this.strokes = [];
      }
      this.k = k;
      this.redraw();
    },
    ctx() {
      const c = this.$refs.mask;
      return c ? c.getContext("2d") : null;
    },
    paintStyle(ctx, stroke) {
      ctx.globalCompositeOperation = stroke.erase ? "destination-out" : "source-over";
      ctx.strokeStyle = ctx.fillStyle = "rgba(244, 114, 182, 1)";
      ctx.lineWidth = stroke.size * this.k;
      ctx.lineCap = ctx.lineJoin = "round";
    },
    drawStroke(stroke) {
      const ctx = this.ctx();
      if (!ctx) return;
      this.paintStyle(ctx, stroke);
      const pts = stroke.points, k = this.k;
      ctx.beginPath();
      ctx.moveTo(pts[0][0] * k, pts[0][1] * k);
      if (pts.length === 1) ctx.lineTo(pts[0][0] * k + 0.01, pts[0][1] * k);
      for (const [x, y] of pts.slice(1)) ctx.lineTo(x * k, y * k);
      ctx.stroke();
    },
    drawSegment(stroke, a, b) {
      const ctx = this.ctx();
      if (!ctx) return;
      this.paintStyle(ctx, stroke);
      ctx.beginPath();
      ctx.moveTo(a[0] * this.k, a[1] * this.k);
      ctx.lineTo(b[0] * this.k, b[1] * this.k);
      ctx.stroke();
    },
    redraw() {
      const ctx = this.ctx();
      if (!ctx) return;
      ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
      for (const s of this.strokes) this.drawStroke(s);
    },
    clearMask() { this.strokes = []; this.redraw(); },
    undoStroke() { this.strokes.pop(); this.redraw(); },
    onLoaded() { this.loaded = true; },
  },
};
