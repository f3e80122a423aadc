/* The handlers the router calls: HTTP in, domain calls, JSON out. */
#ifndef RAPPORT_API_H
#define RAPPORT_API_H

struct request;

void api_health(struct request *r);
void api_openapi(struct request *r);
void api_login(struct request *r);
void api_logout(struct request *r);
void api_me(struct request *r);
void api_password(struct request *r);
void api_tokens_list(struct request *r);
void api_token_create(struct request *r);
void api_token_get(struct request *r);
void api_token_revoke(struct request *r);
void api_list(struct request *r);
void api_get(struct request *r);
void api_create(struct request *r);
void api_update(struct request *r);
void api_delete(struct request *r);
void api_timeline(struct request *r);
void api_history(struct request *r);

#endif
