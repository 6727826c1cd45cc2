// The one tag a site adds:
//   <script src="https://chat.example.com/web/widget/widget.js" data-connector="https://chat.example.com" defer></script>
// Optional: data-title="Chat with us", data-fields="phone:Phone number,orderNumber:Order number*",
// data-open="true", data-locale="de" (default: the page's lang), and the theme: data-color="#5b21b6",
// data-position="left|right", data-logo="https://…/logo.svg". Verified customers (identity.js):
// data-id-token-url="/chat/id-token" (the site's backend) or data-id-token-provider="globalFunctionName",
// and data-guest="true" to offer the guest form when nobody is signed in. At run time:
// window.axpChatWidget.setTheme({color, title, position, logo}), .setIdTokenProvider(async () => token). This file is a classic script (document.currentScript works only there);
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
    idTokenUrl: data.idTokenUrl ? new URL(data.idTokenUrl, location.href).href : undefined,
    idTokenProvider: data.idTokenProvider ? globalProvider(data.idTokenProvider) : undefined,
    guest: data.guest === 'true',
  };
  /** @param {string} name a global function, looked up when a token is needed */
  function globalProvider(name) {
    return () => {
      const provider = /** @type {any} */ (window)[name];
      if (typeof provider !== 'function') throw new Error(`window.${name} is not a function`);
      return provider();
    };
  }
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
