FROM python:3.11-slim
WORKDIR /app
# The runtime set only: linters, type checker and test tools are in requirements-dev.txt.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# log-analyses exists in the image so the named volume mounted there takes its owner (rca).
RUN mkdir -p /app/var/log-analyses && useradd --system rca && chown -R rca /app/var
USER rca
EXPOSE 8000
