// The one tag a site adds:
//   <script src="https://chat.example.com/web/widget/widget.js" data-connector="https://chat.example.com" defer></script>
// Optional: data-title="Chat with us", data-fields="phone:Phone number,orderNumber:Order number*",
// data-open="true", data-locale="de" (default: the page's lang), and the theme: data-color="#5b21b6",
// data-position="left|right", data-logo="https://…/logo.svg". At run time:
// window.axpChatWidget.setTheme({color, title, position, logo}). This file is a classic script (document.currentScript works only there);
// it loads the widget and the SDK as ES modules from its own directory.

(function loadChatWidget() {
  const script = document.currentScript;
  if (!(script instanceof HTMLScriptElement) || !script.src) return;
  const base = new URL('.', script.src).href;
  const data = script.dataset;
  const options = {
    connector: (data.connector || new URL(script.src).origin).replace(/\/+$/, ''),
    base,
    title: data.title,
    fields: data.fields,
    open: data.open === 'true',
    locale: data.locale,
    color: data.color,
    position: data.position === 'left' || data.position === 'right' ? data.position : undefined,
    logo: data.logo,
  };
  const start = () => {
    import(new URL('chat_widget.js', base).href)
      .then((module) => {
        /** @type {any} */ (window).axpChatWidget = module.mountWidget(options);
      })
      .catch((err) => console.error('axp-chat: the widget could not load', err));
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
})();
