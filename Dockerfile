FROM python:3.11-slim
WORKDIR /app
# The runtime set only: linters, type checker and test tools are in requirements-dev.txt.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN mkdir -p /app/var && useradd --system rca && chown rca /app/var
USER rca
EXPOSE 8000
