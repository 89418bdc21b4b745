// Marks the page as JavaScript-enabled before it renders (GOV.UK Frontend convention).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
